import Foundation
import NIOCore
import Protocol
import Testing

@testable import Hub

@Suite("LocalEventBus")
struct LocalEventBusTests {
    func makeBus(historyLength: Int = 16, metrics: HubMetrics = .discarding) -> LocalEventBus {
        LocalEventBus(
            distributor: Distributor(index: SubscriptionIndex(), metrics: metrics), historyLength: historyLength, metrics: metrics)
    }

    func publish(_ bus: LocalEventBus, _ topicText: String, count: Int, tenant: String = "acme") async throws -> [Event] {
        var events: [Event] = []
        for n in 0..<count {
            events += try await bus.publish([draft(topicText, tenant: tenant, data: ["n": .number(Double(n))])])
        }
        return events
    }

    @Test("offsets increase per topic (and per tenant) within the bus's epoch")
    func offsetsPerTopic() async throws {
        let bus = makeBus()
        let a = try await bus.publish([
            draft("operation:op_1:progress"), draft("operation:op_2:progress"), draft("operation:op_1:progress"),
            draft("operation:op_1:progress", tenant: "globex"), draft("operation:op_1:progress"),
        ])
        #expect(a.allSatisfy { $0.offset.epoch == bus.epoch })
        #expect(a.map(\.offset.major) == [1, 1, 2, 1, 3])
        #expect(a.map(\.topic.rawValue) == [
            "operation:op_1:progress", "operation:op_2:progress", "operation:op_1:progress", "operation:op_1:progress",
            "operation:op_1:progress",
        ])
        let more = try await bus.publish([draft("operation:op_2:progress")])
        #expect(more.map(\.offset) == [Offset(epoch: bus.epoch, major: 2)])
    }

    @Test("the epoch is a valid offset epoch, and different buses get different epochs")
    func epochs() throws {
        let one = LocalEventBus.makeEpoch()
        let two = LocalEventBus.makeEpoch()
        #expect(one != two)
        for epoch in [one, two] {
            let offset = try #require(Offset("\(epoch):17"))
            #expect(offset.epoch == epoch)
            #expect(offset.description == "\(epoch):17")
        }
        #expect(makeBus().epoch != makeBus().epoch)
        #expect(LocalEventBus(distributor: Distributor(index: SubscriptionIndex(), metrics: .discarding), historyLength: 1, metrics: .discarding, epoch: "efixed").epoch == "efixed")
    }

    @Test("publish hands each event to the distributor's subscribers")
    func publishDelivers() async throws {
        let metrics = RecordingMetrics()
        let bus = makeBus(metrics: metrics.hubMetrics)
        let session = makeSession()
        bus.distributor.index.add(key("operation:op_1:progress"), session)
        let events = try await publish(bus, "operation:op_1:progress", count: 3)
        let frames = try await nextFrames(session)
        #expect(frames == events.map { ByteBuffer(bytes: EventFrame.event($0)) })
        #expect(metrics.counter("hub_events_published_total") == 3)
    }

    @Test("history after the latest offset: empty and complete")
    func historyAfterLatest() async throws {
        let bus = makeBus()
        let events = try await publish(bus, "operation:op_1:progress", count: 4)
        let page = try await bus.history(key("operation:op_1:progress"), after: events.last!.offset, limit: 100)
        #expect(page == HistoryPage(events: [], complete: true, latest: events.last!.offset))
    }

    @Test("history after an offset: every later event, oldest first")
    func historyAfter() async throws {
        let bus = makeBus()
        let events = try await publish(bus, "operation:op_1:progress", count: 6)
        let page = try await bus.history(key("operation:op_1:progress"), after: events[1].offset, limit: 100)
        #expect(page == HistoryPage(events: Array(events[2...]), complete: true, latest: events.last!.offset))
    }

    @Test("history from an offset trimmed out of the ring: resync")
    func historyTrimmed() async throws {
        let bus = makeBus(historyLength: 4)
        let events = try await publish(bus, "operation:op_1:progress", count: 10)
        let page = try await bus.history(key("operation:op_1:progress"), after: events[2].offset, limit: 100)
        #expect(page == .resync(latest: events.last!.offset))
        // The oldest offset whose successors are all still held recovers.
        let edge = try await bus.history(key("operation:op_1:progress"), after: events[5].offset, limit: 100)
        #expect(edge == HistoryPage(events: Array(events[6...]), complete: true, latest: events.last!.offset))
    }

    @Test("history from an offset of another epoch, or in the future: resync")
    func historyOtherEpochOrFuture() async throws {
        let bus = makeBus()
        let events = try await publish(bus, "operation:op_1:progress", count: 3)
        let k = key("operation:op_1:progress")
        let latest = events.last!.offset
        #expect(try await bus.history(k, after: Offset(epoch: "eolder", major: 1), limit: 100) == .resync(latest: latest))
        #expect(try await bus.history(k, after: Offset(epoch: "eolder", major: 3), limit: 100) == .resync(latest: latest))
        #expect(try await bus.history(k, after: Offset(epoch: bus.epoch, major: 4), limit: 100) == .resync(latest: latest))
    }

    @Test("history of a topic without events in this epoch")
    func historyEmptyTopic() async throws {
        let bus = makeBus()
        let k = key("operation:op_9:progress")
        #expect(try await bus.history(k, after: nil, limit: 10) == HistoryPage(events: [], complete: true, latest: nil))
        #expect(try await bus.history(k, after: Offset(epoch: bus.epoch, major: 0), limit: 10).complete)
        #expect(try await bus.history(k, after: Offset(epoch: bus.epoch, major: 3), limit: 10) == .resync(latest: nil))
        #expect(try await bus.history(k, after: Offset(epoch: "eolder", major: 0), limit: 10) == .resync(latest: nil))
    }

    @Test("history from nil: from the start of history")
    func historyFromStart() async throws {
        let bus = makeBus(historyLength: 5)
        let events = try await publish(bus, "operation:op_1:progress", count: 3)
        let k = key("operation:op_1:progress")
        #expect(try await bus.history(k, after: nil, limit: 100) == HistoryPage(events: events, complete: true, latest: events.last!.offset))
        let more = try await publish(bus, "operation:op_1:progress", count: 4)
        let page = try await bus.history(k, after: nil, limit: 100)
        #expect(page.complete)
        #expect(page.events == Array((events + more).suffix(5)))
    }

    @Test("history with a limit is truncated")
    func historyLimit() async throws {
        let bus = makeBus()
        let events = try await publish(bus, "operation:op_1:progress", count: 8)
        let page = try await bus.history(key("operation:op_1:progress"), after: events[0].offset, limit: 3)
        #expect(page == HistoryPage(events: Array(events[1...3]), complete: true, latest: events.last!.offset, truncated: true))
    }

    @Test("history is per tenant")
    func historyPerTenant() async throws {
        let bus = makeBus()
        _ = try await publish(bus, "operation:op_1:progress", count: 3, tenant: "globex")
        let page = try await bus.history(key("operation:op_1:progress", tenant: "acme"), after: nil, limit: 100)
        #expect(page == HistoryPage(events: [], complete: true, latest: nil))
        #expect(try await bus.lastEvent(key("operation:op_1:progress", tenant: "acme")) == nil)
    }

    @Test("lastEvent is the topic's latest event, even after history trimmed it all")
    func lastEvent() async throws {
        let bus = makeBus(historyLength: 2)
        #expect(try await bus.lastEvent(key("operation:op_1:progress")) == nil)
        let events = try await publish(bus, "operation:op_1:progress", count: 5)
        _ = try await publish(bus, "operation:op_2:progress", count: 1)
        #expect(try await bus.lastEvent(key("operation:op_1:progress")) == events.last)
    }

    @Test("an event naming a team records its entity; one without a team records nothing")
    func entities() async throws {
        let bus = makeBus()
        _ = try await bus.publish([
            draft("application:app_1:status", teamID: "frontend"),
            draft("application:app_2:status"),
            draft("operation:op_1:progress", tenant: "globex", teamID: "ops"),
        ])
        let app1 = EntityRef(family: "application", id: "app_1")
        #expect(try await bus.entity(app1, tenant: "acme") == EntityRecord(tenant: "acme", ref: app1, teamID: "frontend"))
        #expect(try await bus.entity(app1, tenant: "globex") == nil)
        #expect(try await bus.entity(EntityRef(family: "application", id: "app_2"), tenant: "acme") == nil)
        let op1 = EntityRef(family: "operation", id: "op_1")
        #expect(try await bus.entity(op1, tenant: "globex")?.teamID == "ops")

        // A later event naming another team moves the entity.
        _ = try await bus.publish([draft("application:app_1:status", teamID: "backend")])
        #expect(try await bus.entity(app1, tenant: "acme")?.teamID == "backend")

        try await bus.recordEntity(EntityRef(family: "resource", id: "db_1"), tenant: "acme", teamID: "data")
        #expect(try await bus.entity(EntityRef(family: "resource", id: "db_1"), tenant: "acme")?.teamID == "data")
        #expect(await bus.isReady())
    }

    @Test("20 concurrent publishers × 200 events: unique gapless offsets, delivered in offset order")
    func concurrentPublishers() async throws {
        let tasks = 20
        let perTask = 200
        let total = tasks * perTask
        let bus = makeBus(historyLength: 64)
        let k = key("operation:op_1:progress")
        let session = makeSession(queueLimit: total + 10)
        bus.distributor.index.add(k, session)

        // The writer drains concurrently with the publishers.
        let reader = Task { try await collectFrames(session, count: total, timeout: 30) }
        let published = try await withThrowingTaskGroup(of: [Event].self) { group in
            for t in 0..<tasks {
                group.addTask {
                    var mine: [Event] = []
                    for n in 0..<perTask {
                        mine += try await bus.publish([draft("operation:op_1:progress", data: ["task": .number(Double(t)), "n": .number(Double(n))])])
                    }
                    return mine
                }
            }
            var all: [Event] = []
            for try await events in group {
                // Within one publisher, offsets follow the publishing order.
                #expect(events.map(\.offset.major) == events.map(\.offset.major).sorted())
                all += events
            }
            return all
        }

        #expect(published.count == total)
        #expect(published.allSatisfy { $0.offset.epoch == bus.epoch })
        #expect(published.map(\.offset.major).sorted() == Array(1...UInt64(total)))

        let frames = try await reader.value
        #expect(frames.count == total)
        let offsets = try frames.map { try frameOffset($0) }
        #expect(offsets.allSatisfy { $0?.epoch == bus.epoch })
        #expect(offsets.map { $0?.major } == (1...UInt64(total)).map { Optional($0) })
        #expect(try await bus.lastEvent(k)?.offset.major == UInt64(total))
    }
}
