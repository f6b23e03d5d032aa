import NIOCore
import Protocol
import Synchronization
import Testing

@testable import Hub

@Suite("LocalEventBus topic expiry")
struct LocalEventBusExpiryTests {
    /// The bus's clock, moved by the test.
    final class Hands: Sendable {
        let instant = Mutex(ContinuousClock.now)
        var now: @Sendable () -> ContinuousClock.Instant { { self.instant.withLock { $0 } } }
        func advance(_ duration: Duration) { instant.withLock { $0 += duration } }
    }

    func makeBus(ttl: Duration?, hands: Hands, metrics: HubMetrics = .discarding) -> LocalEventBus {
        LocalEventBus(
            distributor: Distributor(index: SubscriptionIndex(), metrics: metrics), historyLength: 16, metrics: metrics,
            topicTTL: ttl, now: hands.now)
    }

    @Test("a topic lives until its last event is topic_ttl old, then history and last value go")
    func expiresAtTheTTL() async throws {
        let hands = Hands()
        let metrics = RecordingMetrics()
        let bus = makeBus(ttl: .seconds(60), hands: hands, metrics: metrics.hubMetrics)
        let idle = key("operation:op_1:progress")
        let busy = key("operation:op_2:progress")
        let first = try await bus.publish([draft("operation:op_1:progress"), draft("operation:op_2:progress")])

        hands.advance(.seconds(30))
        let later = try await bus.publish([draft("operation:op_2:progress")])
        hands.advance(.seconds(29) + .milliseconds(999))
        #expect(bus.expireIdleTopics() == 0)  // op_1 is 59.999 s idle

        hands.advance(.milliseconds(1))
        #expect(metrics.meter("hub_topics") == 2)
        #expect(bus.expireIdleTopics() == 1)  // op_1 is 60 s idle: gone; op_2 30 s
        #expect(metrics.counter("hub_topics_expired_total") == 1)
        #expect(metrics.meter("hub_topics") == 1)
        #expect(try await bus.lastEvent(idle) == nil)
        #expect(try await bus.history(idle, after: first[0].offset, limit: 10) == .resync(latest: nil))
        #expect(try await bus.lastEvent(busy) == later[0])
        #expect(try await bus.history(busy, after: first[1].offset, limit: 10).events == later)

        hands.advance(.seconds(30))
        #expect(bus.expireIdleTopics() == 1)
        #expect(try await bus.lastEvent(busy) == nil)
        #expect(metrics.counter("hub_topics_expired_total") == 2)
        #expect(metrics.meter("hub_topics") == 0)
        _ = try await bus.publish([draft("operation:op_1:progress")])
        #expect(metrics.meter("hub_topics") == 1)
        try await bus.forget(EntityRef(family: "operation", id: "op_1"), tenant: "acme", topics: [try Topic("operation:op_1:progress")])
        #expect(metrics.meter("hub_topics") == 0)
    }

    @Test("a topic that comes back after expiring gets an epoch of its own: its old offsets get resync")
    func aReturningTopicHasANewEpoch() async throws {
        let hands = Hands()
        let bus = makeBus(ttl: .seconds(10), hands: hands)
        let k = key("operation:op_1:progress")
        var old: [Event] = []
        for _ in 0..<5 { old += try await bus.publish([draft("operation:op_1:progress")]) }
        #expect(old.allSatisfy { $0.offset.epoch == bus.epoch })

        hands.advance(.seconds(10))
        #expect(bus.expireIdleTopics() == 1)
        var new: [Event] = []
        for _ in 0..<7 { new += try await bus.publish([draft("operation:op_1:progress")]) }
        #expect(new.map(\.offset.major) == Array(1...7))
        #expect(new[0].offset.epoch != bus.epoch)
        #expect(Set(new.map(\.offset.epoch)).count == 1)

        // Position 3 of the topic's earlier life is not position 3 of this one.
        #expect(try await bus.history(k, after: old[2].offset, limit: 10) == .resync(latest: new.last!.offset))
        #expect(try await bus.history(k, after: new[2].offset, limit: 10).events == Array(new[3...]))
        // A topic seen for the first time after an expiry gets its own epoch too.
        let fresh = try await bus.publish([draft("operation:op_2:progress")])
        #expect(fresh[0].offset.epoch != bus.epoch)
    }

    @Test("without a TTL nothing expires, and every topic stays in the bus's epoch")
    func noTTL() async throws {
        let hands = Hands()
        let bus = makeBus(ttl: nil, hands: hands)
        let events = try await bus.publish([draft("operation:op_1:progress")])
        hands.advance(.seconds(86_400 * 365))
        #expect(bus.expireIdleTopics() == 0)
        #expect(try await bus.lastEvent(key("operation:op_1:progress")) == events[0])
        #expect(bus.expirySweepInterval == nil)
    }

    @Test("the sweep runs every tenth of the TTL, between 1 s and 60 s")
    func sweepInterval() {
        let hands = Hands()
        #expect(makeBus(ttl: .seconds(5), hands: hands).expirySweepInterval == .seconds(1))
        #expect(makeBus(ttl: .seconds(100), hands: hands).expirySweepInterval == .seconds(10))
        #expect(makeBus(ttl: .seconds(86_400), hands: hands).expirySweepInterval == .seconds(60))
    }

    @Test("the entity directory does not expire with the topics")
    func entitiesStay() async throws {
        let hands = Hands()
        let bus = makeBus(ttl: .seconds(10), hands: hands)
        _ = try await bus.publish([draft("application:app_1:status", teamID: "frontend")])
        hands.advance(.seconds(10))
        #expect(bus.expireIdleTopics() == 1)
        let ref = EntityRef(family: "application", id: "app_1")
        #expect(try await bus.entity(ref, tenant: "acme")?.teamID == "frontend")
    }

    @Test("live subscribers of an expired topic get its next events, in the new epoch")
    func subscribersCarryOn() async throws {
        let hands = Hands()
        let bus = makeBus(ttl: .seconds(10), hands: hands)
        let session = makeSession()
        bus.distributor.index.add(key("operation:op_1:progress"), session)
        let before = try await bus.publish([draft("operation:op_1:progress")])
        hands.advance(.seconds(10))
        #expect(bus.expireIdleTopics() == 1)
        let after = try await bus.publish([draft("operation:op_1:progress")])
        let frames = try await collectFrames(session, count: 2, timeout: 5)
        #expect(frames == (before + after).map { ByteBuffer(bytes: EventFrame.event($0)) })
    }
}
