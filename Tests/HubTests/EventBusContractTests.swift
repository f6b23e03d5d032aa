import Foundation
import HubTesting
import NIOCore
import Protocol
import Testing

@testable import Hub

/// The two implementations of `EventBus`, for the shared contract suite.
enum BusKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case local, redis

    var testDescription: String { rawValue }
}

/// A bus under test, with the RealtimeCore of its node.
struct BusUnderTest: Sendable {
    let kind: BusKind
    let core: RealtimeCore
    var bus: any EventBus { core.bus }

    /// An epoch of the same kind as the bus's, which is not the bus's.
    var otherEpoch: String { kind == .local ? "eother" : "rother" }
}

/// Runs `body` with a fresh bus of `kind` (with Redis: a fresh `redis-server`
/// whose stream nodes hold 4 entries, so that `MAXLEN ~` trims early).
func withBus<T: Sendable>(
    _ kind: BusKind, historyLength: Int = 16, _ body: @Sendable (BusUnderTest) async throws -> T
) async throws -> T {
    switch kind {
    case .local:
        var limits = HubLimits()
        limits.historyLength = historyLength
        return try await body(BusUnderTest(kind: kind, core: RealtimeCore.embedded(limits: limits)))
    case .redis:
        return try await withRedisServer(arguments: ["--stream-node-max-entries", "4"]) { server in
            var options = RedisNodeOptions()
            options.historyLength = historyLength
            return try await withRedisNode(server, options: options) { node in
                try await body(BusUnderTest(kind: kind, core: node.core))
            }
        }
    }
}

/// The `EventBus` contract (EventBus.swift), run against both implementations.
@Suite("EventBus contract")
struct EventBusContractTests {
    let progress = "operation:op_1:progress"

    func publish(_ bus: any EventBus, _ topicText: String, count: Int, tenant: String = "acme") async throws -> [Event] {
        var events: [Event] = []
        for n in 0..<count {
            events += try await bus.publish([draft(topicText, tenant: tenant, data: ["n": .number(Double(n)), "text": "é\n\"x\""])])
        }
        return events
    }

    /// Whether each offset comes after the previous one, in one epoch.
    func increasing(_ offsets: [Offset]) -> Bool {
        zip(offsets, offsets.dropFirst()).allSatisfy { $1.isAfter($0) == true }
    }

    @Test("offsets increase per topic and per tenant; a topic's offsets share an epoch", arguments: BusKind.allCases)
    func offsetsPerTopic(kind: BusKind) async throws {
        try await withBus(kind) { (t: BusUnderTest) async throws in
            let batch = try await t.bus.publish([
                draft(progress), draft("operation:op_2:progress"), draft(progress),
                draft(progress, tenant: "globex"), draft(progress),
            ])
            #expect(batch.map(\.topic.rawValue) == [progress, "operation:op_2:progress", progress, progress, progress])
            #expect(batch.map(\.tenant) == ["acme", "acme", "acme", "globex", "acme"])
            let mine = [batch[0], batch[2], batch[4]].map(\.offset)
            #expect(increasing(mine))
            let more = try await t.bus.publish([draft(progress), draft("operation:op_2:progress")])
            #expect(more[0].offset.isAfter(mine.last!) == true)
            #expect(more[1].offset.isAfter(batch[1].offset) == true)
            // Offsets survive the wire form.
            for event in batch + more { #expect(Offset(event.offset.description) == event.offset) }
        }
    }

    @Test("published events come back from history as they were published", arguments: BusKind.allCases)
    func historyAfter(kind: BusKind) async throws {
        try await withBus(kind) { (t: BusUnderTest) async throws in
            let events = try await publish(t.bus, progress, count: 6)
            let page = try await t.bus.history(key(progress), after: events[1].offset, limit: 100)
            #expect(page == HistoryPage(events: Array(events[2...]), complete: true, latest: events.last!.offset))
            let team = try await t.bus.publish([
                EventDraft(
                    tenant: "acme", topic: topic(progress), event: "status_changed", data: ["nested": ["a": [1, 2.5, nil, true]]],
                    teamID: "ops", timestamp: Date(timeIntervalSinceReferenceDate: 812_345_678.123_456))
            ])
            let tail = try await t.bus.history(key(progress), after: events.last!.offset, limit: 100)
            #expect(tail.events == team)
        }
    }

    @Test("history after the latest offset is empty and complete", arguments: BusKind.allCases)
    func historyAfterLatest(kind: BusKind) async throws {
        try await withBus(kind) { (t: BusUnderTest) async throws in
            let events = try await publish(t.bus, progress, count: 4)
            let page = try await t.bus.history(key(progress), after: events.last!.offset, limit: 100)
            #expect(page == HistoryPage(events: [], complete: true, latest: events.last!.offset))
        }
    }

    @Test("history with a limit is truncated, never incomplete", arguments: BusKind.allCases)
    func historyLimit(kind: BusKind) async throws {
        try await withBus(kind) { (t: BusUnderTest) async throws in
            let events = try await publish(t.bus, progress, count: 8)
            let page = try await t.bus.history(key(progress), after: events[0].offset, limit: 3)
            #expect(page == HistoryPage(events: Array(events[1...3]), complete: true, latest: events.last!.offset, truncated: true))
            let rest = try await t.bus.history(key(progress), after: events[3].offset, limit: 4)
            #expect(rest == HistoryPage(events: Array(events[4...7]), complete: true, latest: events.last!.offset))
        }
    }

    @Test("history from nil starts at the oldest event held", arguments: BusKind.allCases)
    func historyFromStart(kind: BusKind) async throws {
        try await withBus(kind) { (t: BusUnderTest) async throws in
            let events = try await publish(t.bus, progress, count: 3)
            #expect(try await t.bus.history(key(progress), after: nil, limit: 100) == HistoryPage(events: events, complete: true, latest: events.last!.offset))
        }
    }

    @Test("a topic without events: complete from the start, resync for any other epoch", arguments: BusKind.allCases)
    func historyEmptyTopic(kind: BusKind) async throws {
        try await withBus(kind) { (t: BusUnderTest) async throws in
            let k = key("operation:op_9:progress")
            #expect(try await t.bus.history(k, after: nil, limit: 10) == HistoryPage(events: [], complete: true, latest: nil))
            #expect(try await t.bus.history(k, after: Offset(epoch: t.otherEpoch, major: 3), limit: 10) == .resync(latest: nil))
            #expect(try await t.bus.lastEvent(k) == nil)
        }
    }

    @Test("an offset whose successors were trimmed gets resync; the last one before what is held recovers", arguments: BusKind.allCases)
    func historyTrimmed(kind: BusKind) async throws {
        try await withBus(kind, historyLength: 4) { (t: BusUnderTest) async throws in
            let events = try await publish(t.bus, progress, count: 40)
            let latest = events.last!.offset
            #expect(try await t.bus.history(key(progress), after: events[0].offset, limit: 100) == .resync(latest: latest))
            let held = try await t.bus.history(key(progress), after: nil, limit: 100)
            #expect(held.complete)
            #expect(held.events.count >= 4 && held.events.count < 20, "the stream holds about historyLength events")
            let first = try #require(events.firstIndex(of: held.events[0]))
            #expect(held.events == Array(events[first...]))
            try #require(first >= 2)
            let edge = try await t.bus.history(key(progress), after: events[first - 1].offset, limit: 100)
            #expect(edge == HistoryPage(events: Array(events[first...]), complete: true, latest: latest))
            #expect(try await t.bus.history(key(progress), after: events[first - 2].offset, limit: 100) == .resync(latest: latest))
        }
    }

    @Test("an offset of another epoch, or after the latest, gets resync", arguments: BusKind.allCases)
    func historyOtherEpochOrFuture(kind: BusKind) async throws {
        try await withBus(kind) { (t: BusUnderTest) async throws in
            let events = try await publish(t.bus, progress, count: 3)
            let latest = events.last!.offset
            let k = key(progress)
            let foreign = Offset(epoch: t.otherEpoch, major: events[0].offset.major, minor: events[0].offset.minor)
            #expect(try await t.bus.history(k, after: foreign, limit: 100) == .resync(latest: latest))
            let future = Offset(epoch: latest.epoch, major: latest.major + 1_000_000, minor: latest.minor)
            #expect(try await t.bus.history(k, after: future, limit: 100) == .resync(latest: latest))
        }
    }

    @Test("history, last values and entities are per tenant", arguments: BusKind.allCases)
    func perTenant(kind: BusKind) async throws {
        try await withBus(kind) { (t: BusUnderTest) async throws in
            _ = try await publish(t.bus, progress, count: 3, tenant: "globex")
            #expect(try await t.bus.history(key(progress, tenant: "acme"), after: nil, limit: 100) == HistoryPage(events: [], complete: true, latest: nil))
            #expect(try await t.bus.lastEvent(key(progress, tenant: "acme")) == nil)
            _ = try await t.bus.publish([draft("application:app_1:status", tenant: "globex", teamID: "ops")])
            #expect(try await t.bus.entity(EntityRef(family: "application", id: "app_1"), tenant: "acme") == nil)
        }
    }

    @Test("the last-value cache holds the latest event, even after history trimmed it all", arguments: BusKind.allCases)
    func lastEvent(kind: BusKind) async throws {
        try await withBus(kind, historyLength: 2) { (t: BusUnderTest) async throws in
            #expect(try await t.bus.lastEvent(key(progress)) == nil)
            let events = try await publish(t.bus, progress, count: 12)
            _ = try await publish(t.bus, "operation:op_2:progress", count: 1)
            #expect(try await t.bus.lastEvent(key(progress)) == events.last)
        }
    }

    @Test("the entity directory: events naming a team, recordEntity, moves", arguments: BusKind.allCases)
    func entities(kind: BusKind) async throws {
        try await withBus(kind) { (t: BusUnderTest) async throws in
            _ = try await t.bus.publish([
                draft("application:app_1:status", teamID: "frontend"), draft("application:app_2:status"),
                draft("operation:op_1:progress", tenant: "globex", teamID: "ops"),
            ])
            let app1 = EntityRef(family: "application", id: "app_1")
            #expect(try await t.bus.entity(app1, tenant: "acme") == EntityRecord(tenant: "acme", ref: app1, teamID: "frontend"))
            #expect(try await t.bus.entity(app1, tenant: "globex") == nil)
            #expect(try await t.bus.entity(EntityRef(family: "application", id: "app_2"), tenant: "acme") == nil)
            #expect(try await t.bus.entity(EntityRef(family: "operation", id: "op_1"), tenant: "globex")?.teamID == "ops")
            _ = try await t.bus.publish([draft("application:app_1:status", teamID: "backend")])
            #expect(try await t.bus.entity(app1, tenant: "acme")?.teamID == "backend")
            let db = EntityRef(family: "resource", id: "db_1")
            try await t.bus.recordEntity(db, tenant: "acme", teamID: "data")
            #expect(try await t.bus.entity(db, tenant: "acme") == EntityRecord(tenant: "acme", ref: db, teamID: "data"))
            try await t.bus.recordEntity(db, tenant: "acme", teamID: nil)
            #expect(try await t.bus.entity(db, tenant: "acme") == EntityRecord(tenant: "acme", ref: db, teamID: nil))
            #expect(await t.bus.isReady())
        }
    }

    @Test("forget: the entity's topics lose history and last value, its directory entry goes; others stay", arguments: BusKind.allCases)
    func forget(kind: BusKind) async throws {
        try await withBus(kind) { (t: BusUnderTest) async throws in
            let op1 = EntityRef(family: "operation", id: "op_1")
            let old = try await publish(t.bus, progress, count: 3)
            try await t.bus.recordEntity(op1, tenant: "acme", teamID: "ops")
            try await t.bus.recordEntity(op1, tenant: "globex", teamID: "ops")
            let other = try await publish(t.bus, "operation:op_2:progress", count: 1)
            let elsewhere = try await publish(t.bus, progress, count: 1, tenant: "globex")

            try await t.bus.forget(op1, tenant: "acme", topics: [try Topic(progress)])
            #expect(try await t.bus.lastEvent(key(progress)) == nil)
            #expect(try await t.bus.history(key(progress), after: nil, limit: 10).events.isEmpty)
            #expect(try await t.bus.history(key(progress), after: old[1].offset, limit: 10) == .resync(latest: nil))
            #expect(try await t.bus.entity(op1, tenant: "acme") == nil)
            // Another topic, and the same entity of another tenant, are untouched.
            #expect(try await t.bus.lastEvent(key("operation:op_2:progress")) == other.last)
            #expect(try await t.bus.lastEvent(key(progress, tenant: "globex")) == elsewhere.last)
            #expect(try await t.bus.entity(op1, tenant: "globex")?.teamID == "ops")

            // The topic comes back in a new epoch: an old offset is not one of its new life.
            let new = try await publish(t.bus, progress, count: 4)
            #expect(new[0].offset.epoch != old[0].offset.epoch)
            #expect(try await t.bus.history(key(progress), after: old[2].offset, limit: 10) == .resync(latest: new.last!.offset))
            // Forgetting what is not there is fine.
            try await t.bus.forget(EntityRef(family: "operation", id: "op_9"), tenant: "acme", topics: [try Topic("operation:op_9:progress")])
        }
    }

    @Test("4 concurrent publishers: a subscriber gets every event once, in offset order", arguments: BusKind.allCases)
    func deliveryOrder(kind: BusKind) async throws {
        try await withBus(kind, historyLength: 64) { (t: BusUnderTest) async throws in
            let tasks = 4
            let perTask = 50
            let session = try t.core.registry.register(identity())
            await t.core.subscribe(session, .init(id: "1", topics: [progress]))
            let reply = try await nextFrames(session)
            #expect(try reply.map(frameType) == ["subscribed"])
            let reader = Task { try await collectFrames(session, count: tasks * perTask, timeout: 30) }
            let published = try await withThrowingTaskGroup(of: [Event].self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        var mine: [Event] = []
                        for n in 0..<perTask {
                            mine += try await t.bus.publish([draft(progress, data: ["task": .number(Double(task)), "n": .number(Double(n))])])
                        }
                        return mine
                    }
                }
                var all: [Event] = []
                for try await events in group {
                    #expect(increasing(events.map(\.offset)))
                    all += events
                }
                return all
            }
            let frames = try await reader.value
            let received = try frames.map { try #require(try frameOffset($0)) }
            #expect(increasing(received))
            #expect(Set(received) == Set(published.map(\.offset)))
            #expect(received.count == published.count)
            try await expectNothingQueued(session)
        }
    }

    @Test("subscribe with since: the missed events, then live ones, no gap and no duplicate", arguments: BusKind.allCases)
    func recoverThroughCore(kind: BusKind) async throws {
        try await withBus(kind) { (t: BusUnderTest) async throws in
            let before = try await publish(t.bus, progress, count: 5)
            let session = try t.core.registry.register(identity())
            await t.core.subscribe(session, .init(id: "1", topics: [progress], since: [progress: before[1].offset.description]))
            let frames = try await collectFrames(session, count: 4)
            let reply = try SubscribedReply(frames[0])
            #expect(reply.entry(progress) == .init(topic: progress, offset: before.last!.offset.description, recovered: true))
            #expect(try frames.dropFirst().map { try frameOffset($0) } == before[2...].map(\.offset))
            let live = try await publish(t.bus, progress, count: 2)
            let more = try await collectFrames(session, count: 2)
            #expect(more == live.map { ByteBuffer(bytes: EventFrame.event($0)) })

            // Another epoch: resync.
            let other = try t.core.registry.register(identity("bob"))
            let foreign = Offset(epoch: t.otherEpoch, major: 1).description
            await t.core.subscribe(other, .init(id: "2", topics: [progress], since: [progress: foreign]))
            let answer = try SubscribedReply(try #require(try await nextFrames(other).first))
            #expect(answer.entry(progress) == .init(topic: progress, offset: live.last!.offset.description, recovered: false, resync: true))
            t.core.detach(session)
            t.core.detach(other)
        }
    }
}
