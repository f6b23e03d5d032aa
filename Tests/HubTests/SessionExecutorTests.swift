import Foundation
import NIOCore
import Protocol
import Synchronization
import Testing

@testable import Hub

/// An executor that keeps submitted work until the test runs it, in order.
final class ManualExecutor: SessionExecutor {
    private let queue = Mutex<[@Sendable () -> Void]>([])

    func submit(_ work: @escaping @Sendable () -> Void) {
        queue.withLock { $0.append(work) }
    }

    var pending: Int { queue.withLock { $0.count } }

    /// Runs everything submitted so far, and what that submits, until empty.
    func runAll() {
        while true {
            let batch = queue.withLock { queue -> [@Sendable () -> Void] in
                defer { queue.removeAll() }
                return queue
            }
            if batch.isEmpty { return }
            for work in batch { work() }
        }
    }
}

/// `expectNothingQueued` for a session with an executor: the marker is queued
/// directly (as the executor would), since `send` waits for the executor.
func expectNothingQueuedNow(_ session: Session, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let marker = buffer(#"{"type":"marker"}"#)
    #expect(session.sendNow(marker) == .queued, sourceLocation: sourceLocation)
    let frames = try await nextFrames(session, sourceLocation: sourceLocation)
    #expect(frames == [marker], "unexpected frames: \(frames.map { String(buffer: $0) })", sourceLocation: sourceLocation)
}

@Suite("SessionExecutor: deliveries on the session's own executor")
struct SessionExecutorTests {
    func session(_ id: UInt64, on executor: ManualExecutor?) -> Session {
        Session(id: id, connectionID: "c_\(id)", identity: identity(), queueLimit: 64, executor: executor)
    }

    @Test("one task per executor and event, whatever the number of sessions; sessions without one are served inline")
    func oneTaskPerExecutor() async throws {
        let metrics = RecordingMetrics()
        let distributor = Distributor(index: SubscriptionIndex(), metrics: metrics.hubMetrics)
        let a = ManualExecutor()
        let b = ManualExecutor()
        let onA = (1...30).map { session(UInt64($0), on: a) }
        let onB = (31...40).map { session(UInt64($0), on: b) }
        let inline = session(99, on: nil)
        let k = key("application:app_1:status")
        for s in onA + onB + [inline] { distributor.index.add(k, s) }

        let event = makeEvent("application:app_1:status", position: 1)
        distributor.deliver(event)
        #expect(a.pending == 1)
        #expect(b.pending == 1)
        // Nothing reached the executors' sessions before their executors ran.
        try await expectNothingQueuedNow(onA[0])
        #expect(try await nextFrames(inline) == [ByteBuffer(bytes: EventFrame.event(event))])

        a.runAll()
        b.runAll()
        for s in onA + onB { #expect(try await nextFrames(s) == [ByteBuffer(bytes: EventFrame.event(event))]) }
        #expect(metrics.counter("hub_frames_delivered_total") == 41)
    }

    @Test("a session matched exactly and by a pattern on one executor gets the event once")
    func dedupeAcrossMatches() async throws {
        let distributor = Distributor(index: SubscriptionIndex(), metrics: .discarding)
        let a = ManualExecutor()
        let s = session(1, on: a)
        distributor.index.add(key("operation:op_1:progress"), s)
        distributor.index.add(key("operation:*:progress"), s)
        distributor.deliver(makeEvent("operation:op_1:progress", position: 1))
        #expect(a.pending == 1)
        a.runAll()
        #expect(try await nextFrames(s).count == 1)
        try await expectNothingQueuedNow(s)
    }

    @Test("send, completeSubscribe and requestClose run on the executor, in order with deliveries")
    func controlFramesKeepTheirOrder() async throws {
        let a = ManualExecutor()
        let s = session(1, on: a)
        s.send(buffer("first"))
        s.send(buffer("second"))
        s.requestClose(.init(code: .normal, reason: "bye"))
        #expect(a.pending == 3)
        #expect(!s.isClosing)
        a.runAll()
        #expect(try await nextFrames(s) == [buffer("first"), buffer("second")])
        #expect(try await nextClose(s).code == .normal)
    }

    @Test("an event stored before the history read but delivered after it is sent once (catch-up and live overlap)")
    func catchupRace() async throws {
        let core = RealtimeCore.embedded()
        let a = ManualExecutor()
        let s = try core.registry.register(identity(), executor: a)
        let k = key("operation:op_1:progress")
        // The steps of RealtimeCore.subscribe, with an event in the middle:
        let reservation = s.beginSubscribe([k], limit: 10)
        #expect(reservation.accepted == [k])
        core.index.add(k, s)
        let event = try await core.bus.publish([draft("operation:op_1:progress")])[0]  // delivery submitted, not run
        let page = try await core.bus.history(k, after: nil, limit: 10)
        #expect(page.events == [event])
        s.completeSubscribe(
            reply: buffer("subscribed"),
            catchups: [.init(key: k, frames: page.events.map { ByteBuffer(bytes: EventFrame.event($0)) }, baseline: event.offset)])
        a.runAll()
        let frames = try await nextFrames(s)
        #expect(frames == [buffer("subscribed"), ByteBuffer(bytes: EventFrame.event(event))])
        try await expectNothingQueuedNow(s)
    }
}

@Suite("Session: late copies of caught-up events")
struct SessionBaselineTests {
    @Test("a live event at or before the catch-up's last offset is a duplicate; the first newer one ends the check")
    func lateCopiesAreDropped() async throws {
        let s = makeSession()
        let k = key("operation:op_1:progress")
        _ = s.beginSubscribe([k], limit: 10)
        let events = (1...3).map { makeEvent("operation:op_1:progress", position: UInt64($0)) }
        s.completeSubscribe(
            reply: buffer("subscribed"), catchups: [.init(key: k, frames: events.map { ByteBuffer(bytes: EventFrame.event($0)) }, baseline: events[2].offset)])
        #expect(try await nextFrames(s).count == 4)
        // Copies of 2 and 3 arriving late over the live path (as from Redis pub/sub after the XRANGE).
        #expect(s.deliver(ByteBuffer(bytes: EventFrame.event(events[1])), key: k, offset: events[1].offset) == .duplicate)
        #expect(s.deliver(ByteBuffer(bytes: EventFrame.event(events[2])), key: k, offset: events[2].offset) == .duplicate)
        let next = makeEvent("operation:op_1:progress", position: 4)
        #expect(s.deliver(ByteBuffer(bytes: EventFrame.event(next)), key: k, offset: next.offset) == .queued)
        #expect(try await nextFrames(s) == [ByteBuffer(bytes: EventFrame.event(next))])
        #expect(s.state.withLock { $0.baselines.isEmpty })
    }

    @Test("an offset of another epoch is not a duplicate")
    func otherEpochPasses() async throws {
        let s = makeSession()
        let k = key("operation:op_1:progress")
        _ = s.beginSubscribe([k], limit: 10)
        let old = makeEvent("operation:op_1:progress", epoch: "eold", position: 9)
        s.completeSubscribe(reply: buffer("subscribed"), catchups: [.init(key: k, frames: [], baseline: old.offset)])
        _ = try await nextFrames(s)
        let fresh = makeEvent("operation:op_1:progress", epoch: "enew", position: 1)
        #expect(s.deliver(ByteBuffer(bytes: EventFrame.event(fresh)), key: k, offset: fresh.offset) == .queued)
    }
}
