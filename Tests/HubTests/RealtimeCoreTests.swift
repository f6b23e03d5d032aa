import Foundation
import NIOCore
import Protocol
import Testing

@testable import Hub

/// A subscription reply, decoded.
struct SubscribedReply {
    struct Entry: Equatable {
        var topic: String
        var offset: String?
        var recovered: Bool?
        var resync: Bool?
    }

    var id: String?
    var topics: [Entry]
    var denied: [(topic: String, code: String, message: String)]

    init(_ frame: ByteBuffer) throws {
        let body = try json(frame)
        guard body["type"]?.stringValue == "subscribed" else {
            throw UnexpectedOutput(description: "expected a subscribed frame, got \(String(buffer: frame))")
        }
        id = body["id"]?.stringValue
        topics = (body["topics"]?.arrayValue ?? []).map {
            Entry(
                topic: $0["topic"]?.stringValue ?? "", offset: $0["offset"]?.stringValue, recovered: $0["recovered"]?.boolValue,
                resync: $0["resync"]?.boolValue)
        }
        denied = (body["denied"]?.arrayValue ?? []).map {
            ($0["topic"]?.stringValue ?? "", $0["code"]?.stringValue ?? "", $0["message"]?.stringValue ?? "")
        }
    }

    func entry(_ topic: String) -> Entry? {
        topics.first { $0.topic == topic }
    }
}

/// An event bus that publishes on the same topic while `history` and
/// `lastEvent` run: just before reading (so the events are both in the page
/// and in the session's recovery buffer) and just after (only in the buffer).
final class InterleavingBus: EventBus {
    let inner: LocalEventBus
    let topicText: String
    let around: Int

    init(inner: LocalEventBus, topicText: String, around: Int) {
        self.inner = inner
        self.topicText = topicText
        self.around = around
    }

    private func publishSome() async throws {
        for _ in 0..<around { _ = try await inner.publish([draft(topicText)]) }
    }

    func publish(_ drafts: [EventDraft]) async throws -> [Event] { try await inner.publish(drafts) }

    func history(_ key: TopicKey, after offset: Offset?, limit: Int) async throws -> HistoryPage {
        try await publishSome()
        let page = try await inner.history(key, after: offset, limit: limit)
        try await publishSome()
        return page
    }

    func lastEvent(_ key: TopicKey) async throws -> Event? {
        try await publishSome()
        let last = try await inner.lastEvent(key)
        try await publishSome()
        return last
    }

    func entity(_ ref: EntityRef, tenant: String) async throws -> EntityRecord? { try await inner.entity(ref, tenant: tenant) }
    func recordEntity(_ ref: EntityRef, tenant: String, teamID: String?) async throws {
        try await inner.recordEntity(ref, tenant: tenant, teamID: teamID)
    }
    func forget(_ ref: EntityRef, tenant: String, topics: [Topic]) async throws {
        try await inner.forget(ref, tenant: tenant, topics: topics)
    }
    func isReady() async -> Bool { await inner.isReady() }
    func attach(_ keys: [TopicKey]) async throws { try await inner.attach(keys) }
    func detach(_ keys: [TopicKey]) { inner.detach(keys) }
}

@Suite("RealtimeCore")
struct RealtimeCoreTests {
    static func limits(
        historyLength: Int = 256, sendQueueLength: Int = 1024, maxSubscriptions: Int = 200
    ) -> HubLimits {
        var limits = HubLimits()
        limits.historyLength = historyLength
        limits.sendQueueLength = sendQueueLength
        limits.maxSubscriptionsPerConnection = maxSubscriptions
        return limits
    }

    let progress = "operation:op_1:progress"

    func publish(_ core: RealtimeCore, _ topicText: String, count: Int, tenant: String = "acme") async throws -> [Event] {
        var events: [Event] = []
        for n in 0..<count {
            events += try await core.bus.publish([draft(topicText, tenant: tenant, data: ["n": .number(Double(n))])])
        }
        return events
    }

    /// Subscribes and returns the reply and the frames that came with it.
    func subscribe(
        _ core: RealtimeCore, _ session: Session, _ topics: [String], id: String? = "1", since: [String: String] = [:],
        snapshot: Bool = false
    ) async throws -> (reply: SubscribedReply, rest: [ByteBuffer]) {
        await core.subscribe(session, .init(id: id, topics: topics, since: since, snapshot: snapshot))
        let frames = try await nextFrames(session)
        let first = try #require(frames.first)
        return (try SubscribedReply(first), Array(frames.dropFirst()))
    }

    func offsets(_ frames: [ByteBuffer]) throws -> [UInt64?] {
        try frames.map { try frameOffset($0)?.major }
    }

    // MARK: subscribe replies

    @Test("subscribe answers subscribed first, with denied entries for invalid, forbidden and over-limit topics")
    func deniedEntries() async throws {
        let core = RealtimeCore.embedded(limits: Self.limits(maxSubscriptions: 2))
        let worker = identity("alice", roles: [RoleGrant(role: "worker")])
        let session = try core.registry.register(worker)
        let (reply, rest) = try await subscribe(
            core, session,
            [
                progress, "bad topic!", "application:app_1:status", "user:bob:notifications", "operation:op_2:progress",
                "operation:op_3:progress", "*:x:y",
            ], id: "req-7")
        #expect(rest.isEmpty)
        #expect(reply.id == "req-7")
        #expect(reply.topics.map(\.topic) == [progress, "operation:op_2:progress"])
        let denied = Dictionary(uniqueKeysWithValues: reply.denied.map { ($0.topic, $0.code) })
        #expect(denied == [
            "bad topic!": "INVALID_TOPIC", "*:x:y": "INVALID_TOPIC", "application:app_1:status": "FORBIDDEN",
            "user:bob:notifications": "FORBIDDEN", "operation:op_3:progress": "TOO_MANY_SUBSCRIPTIONS",
        ])
        #expect(session.subscriptionCount == 2)
        #expect(core.index.keyCount == 2)
    }

    @Test("the subscribed reply comes before events already published and later live events")
    func replyFirstThenLive() async throws {
        let core = RealtimeCore.embedded()
        let session = try core.registry.register(identity())
        let before = try await publish(core, progress, count: 2)
        let (reply, rest) = try await subscribe(core, session, [progress])
        #expect(rest.isEmpty)
        #expect(reply.entry(progress) == .init(topic: progress, offset: before.last!.offset.description))

        let live = try await publish(core, progress, count: 3)
        #expect(try await nextFrames(session) == live.map { ByteBuffer(bytes: EventFrame.event($0)) })
    }

    @Test("a topic given twice, or subscribed again, is subscribed once and delivered once")
    func duplicates() async throws {
        let core = RealtimeCore.embedded()
        let session = try core.registry.register(identity())
        let (reply, _) = try await subscribe(core, session, [progress, progress])
        #expect(reply.topics.map(\.topic) == [progress])
        let (again, _) = try await subscribe(core, session, [progress], id: "2")
        #expect(again.topics.map(\.topic) == [progress])
        #expect(again.denied.isEmpty)
        #expect(session.subscriptionCount == 1)

        let events = try await publish(core, progress, count: 1)
        #expect(try await nextFrames(session) == [ByteBuffer(bytes: EventFrame.event(events[0]))])
        try await expectNothingQueued(session)
    }

    @Test("user:notifications is the caller's own topic")
    func ownNotifications() async throws {
        let core = RealtimeCore.embedded()
        let alice = try core.registry.register(identity("alice", roles: []))
        let bob = try core.registry.register(identity("bob", roles: []))
        let (reply, _) = try await subscribe(core, alice, ["user:notifications"])
        #expect(reply.topics.map(\.topic) == ["user:notifications"])
        #expect(reply.denied.isEmpty)
        _ = try await subscribe(core, bob, ["user:notifications"])

        _ = try await core.bus.publish([draft("user:alice:notifications", event: "mention")])
        let frames = try await nextFrames(alice)
        #expect(frames.count == 1)
        #expect(try json(frames[0])["topic"]?.stringValue == "user:notifications")
        #expect(try json(frames[0])["event"]?.stringValue == "mention")
        try await expectNothingQueued(bob)
    }

    @Test("a team-scoped role subscribes to its team's entities only")
    func teamScopedSubscribe() async throws {
        let core = RealtimeCore.embedded()
        try await core.bus.recordEntity(EntityRef(family: "application", id: "app_front"), tenant: "acme", teamID: "frontend")
        _ = try await core.bus.publish([draft("application:app_back:status", teamID: "backend")])
        let session = try core.registry.register(identity("dev", roles: [RoleGrant(role: "developer", scope: .team("frontend"))]))
        let (reply, _) = try await subscribe(
            core, session,
            ["application:app_front:status", "application:app_back:status", "application:app_new:status", "application:*:status"])
        #expect(reply.topics.map(\.topic) == ["application:app_front:status"])
        #expect(Set(reply.denied.map(\.topic)) == ["application:app_back:status", "application:app_new:status", "application:*:status"])
        #expect(reply.denied.allSatisfy { $0.code == "FORBIDDEN" })
    }

    @Test("events of the same topic in another tenant never arrive")
    func tenantIsolation() async throws {
        let core = RealtimeCore.embedded()
        let session = try core.registry.register(identity())
        _ = try await subscribe(core, session, [progress, "operation:*:progress"])
        _ = try await publish(core, progress, count: 3, tenant: "globex")
        try await expectNothingQueued(session)
    }

    // MARK: recovery

    @Test(
        "since: every event after it exactly once, in order, while a publisher keeps publishing", arguments: 1...4)
    func recoveryWhilePublishing(round: Int) async throws {
        let core = RealtimeCore.embedded(limits: Self.limits(historyLength: 1_000, sendQueueLength: 10_000))
        let session = try core.registry.register(identity())
        let topicText = "operation:op_race\(round):progress"
        let total = 500
        let (middle, continuation) = AsyncStream<Offset>.makeStream()
        let publisher = Task {
            var sinceOffset: Offset?
            for n in 1...total {
                let event = try await core.bus.publish([draft(topicText, data: ["n": .number(Double(n))])])[0]
                if n == 200 { sinceOffset = event.offset }
                if n == 250, let sinceOffset {
                    continuation.yield(sinceOffset)
                    continuation.finish()
                }
                await Task.yield()
            }
        }
        let since = try #require(try await withTimeout(30) { await middle.first { _ in true } })

        await core.subscribe(session, .init(id: "s", topics: [topicText], since: [topicText: since.description]))
        // Generous deadlines: 500 publishes with yields take long on a loaded 2-core machine.
        let frames = try await collectFrames(session, timeout: 30) { frame in
            try frameOffset(frame)?.major == UInt64(total)
        }
        try await withTimeout(30) { try await publisher.value }

        let reply = try SubscribedReply(frames[0])
        let entry = try #require(reply.entry(topicText))
        #expect(entry.recovered == true)
        #expect(entry.resync == nil)
        let latest = try #require(entry.offset.flatMap(Offset.init))
        #expect(latest.major >= 250)
        let events = Array(frames.dropFirst())
        #expect(try events.allSatisfy { try frameType($0) == "event" })
        #expect(try offsets(events) == (201...UInt64(total)).map { Optional($0) })
        try await expectNothingQueued(session)
    }

    @Test("since: events published while history is read are neither lost nor duplicated")
    func recoveryInterleaved() async throws {
        let limits = Self.limits()
        let metrics = HubMetrics.discarding
        let distributor = Distributor(index: SubscriptionIndex(), metrics: metrics)
        let local = LocalEventBus(distributor: distributor, historyLength: limits.historyLength, metrics: metrics)
        let bus = InterleavingBus(inner: local, topicText: progress, around: 3)
        let core = RealtimeCore(bus: bus, distributor: distributor, access: AccessControl(), limits: limits, metrics: metrics)
        let session = try core.registry.register(identity())
        let before = try await publish(core, progress, count: 10)

        // History is read after 11...13 were published; 14...16 follow it.
        let (reply, rest) = try await subscribe(core, session, [progress], since: [progress: before[3].offset.description])
        #expect(reply.entry(progress) == .init(topic: progress, offset: Offset(epoch: local.epoch, major: 13).description, recovered: true))
        #expect(try offsets(rest) == (5...16).map { Optional($0) })

        _ = try await publish(core, progress, count: 1)
        #expect(try offsets(try await nextFrames(session)) == [17])
    }

    @Test("snapshot: events published while the last event is read are neither lost nor duplicated")
    func snapshotInterleaved() async throws {
        let limits = Self.limits()
        let metrics = HubMetrics.discarding
        let distributor = Distributor(index: SubscriptionIndex(), metrics: metrics)
        let local = LocalEventBus(distributor: distributor, historyLength: limits.historyLength, metrics: metrics)
        let bus = InterleavingBus(inner: local, topicText: progress, around: 2)
        let core = RealtimeCore(bus: bus, distributor: distributor, access: AccessControl(), limits: limits, metrics: metrics)
        let session = try core.registry.register(identity())
        _ = try await publish(core, progress, count: 5)

        // The last event is read after 6...7 were published; 8...9 follow it.
        let (_, rest) = try await subscribe(core, session, [progress], snapshot: true)
        #expect(try rest.map { try frameType($0) } == ["snapshot", "event", "event"])
        #expect(try offsets(rest) == [7, 8, 9])
    }

    @Test("since of another epoch: resync, not recovered, and live events follow")
    func sinceOtherEpoch() async throws {
        let core = RealtimeCore.embedded()
        let session = try core.registry.register(identity())
        let events = try await publish(core, progress, count: 3)
        let (reply, rest) = try await subscribe(core, session, [progress], since: [progress: "eolderepoch:2"])
        let entry = try #require(reply.entry(progress))
        #expect(entry.recovered == false)
        #expect(entry.resync == true)
        #expect(entry.offset == events.last!.offset.description)
        #expect(rest.isEmpty)

        let live = try await publish(core, progress, count: 1)
        #expect(try offsets(try await nextFrames(session)) == [live[0].offset.major])
    }

    @Test("since trimmed from history, in the future, or malformed: resync")
    func sinceResync() async throws {
        let core = RealtimeCore.embedded(limits: Self.limits(historyLength: 4))
        let events = try await publish(core, progress, count: 10)
        let epoch = events[0].offset.epoch
        for since in ["\(epoch):2", "\(epoch):99", "not-an-offset"] {
            let session = try core.registry.register(identity())
            let (reply, rest) = try await subscribe(core, session, [progress], since: [progress: since])
            #expect(reply.entry(progress)?.recovered == false, "since \(since)")
            #expect(reply.entry(progress)?.resync == true, "since \(since)")
            #expect(rest.isEmpty, "since \(since)")
        }
    }

    @Test("since equal to the latest offset: recovered, nothing to send")
    func sinceLatest() async throws {
        let core = RealtimeCore.embedded()
        let session = try core.registry.register(identity())
        let events = try await publish(core, progress, count: 3)
        let (reply, rest) = try await subscribe(core, session, [progress], since: [progress: events.last!.offset.description])
        #expect(reply.entry(progress) == .init(topic: progress, offset: events.last!.offset.description, recovered: true))
        #expect(rest.isEmpty)
    }

    @Test("snapshot: true sends the topic's last event as a snapshot frame")
    func snapshot() async throws {
        let core = RealtimeCore.embedded()
        let session = try core.registry.register(identity())
        _ = try await core.bus.publish([
            draft(progress, event: "created"), draft(progress, event: "progress_updated"),
            draft(progress, event: "completed", data: ["progress": 100]),
        ])
        let last = try #require(try await core.bus.lastEvent(key(progress)))
        let (reply, rest) = try await subscribe(core, session, [progress, "operation:op_empty:progress"], snapshot: true)
        #expect(reply.entry(progress)?.offset == last.offset.description)
        #expect(reply.entry("operation:op_empty:progress") == .init(topic: "operation:op_empty:progress", offset: nil))
        #expect(rest.count == 1)
        let body = try json(rest[0])
        #expect(body["type"]?.stringValue == "snapshot")
        #expect(body["topic"]?.stringValue == progress)
        #expect(body["event"]?.stringValue == "completed")
        #expect(body["offset"]?.stringValue == last.offset.description)
        #expect(body["data"] == ["progress": 100])

        let live = try await publish(core, progress, count: 1)
        #expect(try offsets(try await nextFrames(session)) == [live[0].offset.major])
    }

    @Test("subscribing again with since: a reply that says recovered must come with the missed events")
    func resubscribeWithSince() async throws {
        let core = RealtimeCore.embedded()
        let session = try core.registry.register(identity())
        let events = try await publish(core, progress, count: 3)
        _ = try await subscribe(core, session, [progress])
        _ = try await publish(core, progress, count: 1)
        #expect(try offsets(try await nextFrames(session)) == [4])

        // The client asks again for everything after offset 1: 2 and 3 were never sent to it.
        let (reply, rest) = try await subscribe(core, session, [progress], id: "2", since: [progress: events[0].offset.description])
        let entry = try #require(reply.entry(progress))
        if entry.recovered == true {
            #expect(try offsets(rest).contains(2) && offsets(rest).contains(3), "reply says recovered but events 2 and 3 were not sent: \(rest.map { String(buffer: $0) })")
        }
    }

    @Test("a recovery bigger than the send queue is not cut off by the next live event (default limits)")
    func largeRecoveryThenLiveEvent() async throws {
        let limits = HubLimits()
        let core = RealtimeCore.embedded(limits: limits)
        let session = try core.registry.register(identity())
        // A dashboard reconnects with `since` on 5 busy topics, each with a full history to recover.
        let topics = (1...5).map { "operation:op_busy\($0):progress" }
        var since: [String: String] = [:]
        for topicText in topics {
            let events = try await publish(core, topicText, count: limits.historyLength + 1)
            since[topicText] = events[0].offset.description
        }
        let recovered = topics.count * limits.historyLength
        #expect(recovered > limits.sendQueueLength)

        await core.subscribe(session, .init(id: "r", topics: topics, since: since))
        // One live event arrives before the writer has picked up the catch-up batch.
        let live = try await core.bus.publish([draft(topics[0])])[0]

        // The catch-up frames are not live frames: the connection must not be closed as a slow consumer.
        if session.isClosing {
            let close = try await nextClose(session)
            Issue.record(
                "the \(recovered) recovered events were dropped and the connection closed with \(close.code) (\(close.reason)) because one live event followed a recovery the server itself queued")
            return
        }
        let frames = try await collectFrames(session, count: 1 + recovered + 1)
        #expect(try SubscribedReply(frames[0]).topics.allSatisfy { $0.recovered == true })
        #expect(frames.last == ByteBuffer(bytes: EventFrame.event(live)))
    }

    // MARK: unsubscribe and detach

    @Test("unsubscribe stops delivery")
    func unsubscribe() async throws {
        let metrics = RecordingMetrics()
        let core = RealtimeCore.embedded(metrics: metrics.hubMetrics)
        let session = try core.registry.register(identity())
        _ = try await subscribe(core, session, [progress, "application:app_1:status"])
        #expect(metrics.meter("hub_subscriptions") == 2)
        _ = try await publish(core, progress, count: 1)
        #expect(try await nextFrames(session).count == 1)

        let reply = core.unsubscribe(session, .init(id: "u1", topics: [progress, "operation:op_never:progress", "bad topic!"]))
        #expect(reply == .unsubscribed(.init(id: "u1", topics: [progress, "operation:op_never:progress", "bad topic!"])))
        #expect(session.subscriptions == [key("application:app_1:status")])
        #expect(core.index.keyCount == 1)
        #expect(metrics.meter("hub_subscriptions") == 1)

        _ = try await publish(core, progress, count: 2)
        try await expectNothingQueued(session)

        // Subscribing again resumes delivery.
        _ = try await subscribe(core, session, [progress])
        _ = try await publish(core, progress, count: 1)
        #expect(try offsets(try await nextFrames(session)) == [4])
    }

    @Test("unsubscribe of user:notifications removes the caller's own topic")
    func unsubscribeNotifications() async throws {
        let core = RealtimeCore.embedded()
        let session = try core.registry.register(identity("alice", roles: []))
        _ = try await subscribe(core, session, ["user:notifications"])
        _ = core.unsubscribe(session, .init(topics: ["user:notifications"]))
        #expect(session.subscriptionCount == 0)
        #expect(core.index.keyCount == 0)
    }

    @Test("detach removes every subscription and the session")
    func detach() async throws {
        let metrics = RecordingMetrics()
        let core = RealtimeCore.embedded(metrics: metrics.hubMetrics)
        let session = try core.registry.register(identity())
        let other = try core.registry.register(identity("bob"))
        _ = try await subscribe(core, session, [progress, "operation:*:progress", "application:app_1:status", "user:notifications"])
        _ = try await subscribe(core, other, [progress])
        #expect(core.index.keyCount == 4)
        #expect(core.registry.count == 2)

        core.detach(session)
        #expect(session.subscriptionCount == 0)
        #expect(core.index.keyCount == 1)
        #expect(core.registry.count == 1)
        #expect(metrics.meter("hub_subscriptions") == 1)

        core.detach(other)
        #expect(core.index.keyCount == 0)
        #expect(core.registry.count == 0)
        #expect(metrics.meter("hub_subscriptions") == 0)
        #expect(metrics.meter("hub_connections") == 0)

        _ = try await publish(core, progress, count: 1)
        try await expectNothingQueued(session)
    }
}
