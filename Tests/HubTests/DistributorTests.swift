import Foundation
import NIOCore
import Protocol
import Testing

@testable import Hub

@Suite("Distributor")
struct DistributorTests {
    let event = makeEvent("operation:op_1:progress", epoch: "e1", position: 42, event: "progress_updated")

    @Test("one event to many sessions: every session gets the identical bytes, encoded once")
    func identicalBytes() async throws {
        let metrics = RecordingMetrics()
        let distributor = Distributor(index: SubscriptionIndex(), metrics: metrics.hubMetrics)
        let sessions = (1...50).map { makeSession(id: UInt64($0)) }
        let k = TopicKey(tenant: event.tenant, topic: event.topic)
        for session in sessions { distributor.index.add(k, session) }

        distributor.deliver(event)

        var received: [ByteBuffer] = []
        for session in sessions {
            let frames = try await nextFrames(session)
            #expect(frames.count == 1)
            received.append(contentsOf: frames)
        }
        let expected = ByteBuffer(bytes: EventFrame.event(event))
        #expect(received.count == sessions.count)
        #expect(received.allSatisfy { $0 == expected })
        // Same storage, not 50 copies: the frame was encoded once.
        let addresses = Set(received.map { $0.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } })
        #expect(addresses.count == 1)

        let body = try json(received[0])
        #expect(body["type"]?.stringValue == "event")
        #expect(body["topic"]?.stringValue == "operation:op_1:progress")
        #expect(body["offset"]?.stringValue == "e1:42")
        #expect(metrics.counter("hub_frames_delivered_total") == 50)
        #expect(metrics.counter("hub_frames_dropped_total") == 0)
        #expect(metrics.recordings("hub_fanout_duration_seconds") == 1)
    }

    @Test("a session subscribed exactly and by patterns gets the event once")
    func onceAcrossMatches() async throws {
        let distributor = Distributor(index: SubscriptionIndex(), metrics: .discarding)
        let both = makeSession(id: 1)
        let patternOnly = makeSession(id: 2)
        distributor.index.add(key("operation:op_1:progress"), both)
        distributor.index.add(key("operation:*:progress"), both)
        distributor.index.add(key("operation:op_1:*"), both)
        distributor.index.add(key("operation:*:progress"), patternOnly)
        distributor.index.add(key("operation:*:*"), patternOnly)

        distributor.deliver(event)
        distributor.deliver(makeEvent("operation:op_1:progress", epoch: "e1", position: 43))

        for session in [both, patternOnly] {
            let frames = try await nextFrames(session)
            #expect(try frames.map { try frameOffset($0)?.major } == [42, 43], "session \(session.id)")
        }
    }

    @Test("an event reaches only its own tenant's subscribers")
    func tenantScoped() async throws {
        let distributor = Distributor(index: SubscriptionIndex(), metrics: .discarding)
        let acme = makeSession(id: 1, tenant: "acme")
        let globex = makeSession(id: 2, tenant: "globex")
        distributor.index.add(key("operation:op_1:progress", tenant: "acme"), acme)
        distributor.index.add(key("operation:op_1:progress", tenant: "globex"), globex)
        distributor.index.add(key("operation:*:progress", tenant: "globex"), globex)

        distributor.deliver(event)  // tenant acme
        #expect(try await nextFrames(acme).count == 1)
        try await expectNothingQueued(globex)
    }

    @Test("an event nobody subscribed to is not encoded or counted")
    func noSubscribers() {
        let metrics = RecordingMetrics()
        let distributor = Distributor(index: SubscriptionIndex(), metrics: metrics.hubMetrics)
        distributor.index.add(key("operation:op_2:progress"), makeSession())
        distributor.deliver(event)
        #expect(metrics.counter("hub_frames_delivered_total") == 0)
        #expect(metrics.recordings("hub_fanout_duration_seconds") == 0)
    }

    @Test("a full session is counted and closed with 4008 while the others still get the event")
    func slowConsumer() async throws {
        let metrics = RecordingMetrics()
        let distributor = Distributor(index: SubscriptionIndex(), metrics: metrics.hubMetrics)
        let k = TopicKey(tenant: event.tenant, topic: event.topic)
        let slow = makeSession(id: 1, queueLimit: 2)
        let fast = (2...4).map { makeSession(id: UInt64($0), queueLimit: 2) }
        for session in [slow] + fast { distributor.index.add(k, session) }
        #expect(slow.send(buffer("1")) == .queued)
        #expect(slow.send(buffer("2")) == .queued)

        distributor.deliver(event)

        #expect(slow.isClosing)
        let close = try await nextClose(slow)
        #expect(close.code == .slowConsumer)
        #expect(close.code.rawValue == 4008)
        for session in fast {
            #expect(!session.isClosing)
            #expect(try await nextFrames(session) == [ByteBuffer(bytes: EventFrame.event(event))])
        }
        #expect(metrics.counter("hub_frames_delivered_total") == 3)
        #expect(metrics.counter("hub_frames_dropped_total") == 1)
        #expect(metrics.counter("hub_slow_consumer_closes_total") == 1)

        // Once closing, the session's later events are dropped, not counted as new slow-consumer closes.
        distributor.deliver(makeEvent("operation:op_1:progress", epoch: "e1", position: 43))
        #expect(metrics.counter("hub_frames_delivered_total") == 6)
        #expect(metrics.counter("hub_frames_dropped_total") == 2)
        #expect(metrics.counter("hub_slow_consumer_closes_total") == 1)
    }

    @Test("a session recovering the topic gets the event through its recovery buffer")
    func recoveringSession() async throws {
        let distributor = Distributor(index: SubscriptionIndex(), metrics: .discarding)
        let k = TopicKey(tenant: event.tenant, topic: event.topic)
        let session = makeSession()
        _ = session.beginSubscribe([k], limit: 10)
        distributor.index.add(k, session)
        distributor.deliver(event)
        try await expectNothingQueued(session)
        session.completeSubscribe(reply: buffer("reply"), catchups: [.init(key: k, frames: [], baseline: nil)])
        #expect(try await nextFrames(session) == [buffer("reply"), ByteBuffer(bytes: EventFrame.event(event))])
    }
}
