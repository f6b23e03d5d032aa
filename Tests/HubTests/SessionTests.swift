import Foundation
import NIOCore
import Protocol
import Synchronization
import Testing

@testable import Hub

@Suite("Session: send queue and close")
struct SessionQueueTests {
    @Test("queueLimit N: N frames queue, the N+1th overflows, then close 4008, then nil")
    func queueBound() async throws {
        let limit = 8
        let session = makeSession(queueLimit: limit)
        for i in 0..<limit {
            #expect(session.send(buffer("{\"n\":\(i)}")) == .queued, "frame \(i) should fit")
        }
        #expect(!session.isClosing)
        #expect(session.deliver(buffer("{\"n\":\"over\"}"), key: key("operation:op_1:progress"), offset: Offset(epoch: "e1", major: 1)) == .overflowed)
        #expect(session.isClosing)

        // The queue is dropped: the writer gets the close straight away.
        let close = try await nextClose(session)
        #expect(close.code == .slowConsumer)
        #expect(close.code.rawValue == 4008)
        #expect(close.finalFrame == nil)
        #expect(try await nextOutput(session) == nil)
        #expect(try await nextOutput(session) == nil)
    }

    @Test("send overflows the same way as deliver")
    func sendOverflow() async throws {
        let session = makeSession(queueLimit: 2)
        #expect(session.send(buffer("1")) == .queued)
        #expect(session.send(buffer("2")) == .queued)
        #expect(session.send(buffer("3")) == .overflowed)
        #expect(try await nextClose(session).code == .slowConsumer)
    }

    @Test("frames handed to a session after its close are discarded")
    func discardedAfterClose() async throws {
        let session = makeSession(queueLimit: 1)
        #expect(session.send(buffer("1")) == .queued)
        #expect(session.send(buffer("2")) == .overflowed)
        #expect(session.send(buffer("3")) == .discarded)
        #expect(session.deliver(buffer("4"), key: key("operation:op_1:progress"), offset: Offset(epoch: "e1", major: 4)) == .discarded)

        let other = makeSession(id: 2)
        other.requestClose(.init(code: .normal, reason: "bye"))
        #expect(other.send(buffer("x")) == .discarded)
        #expect(other.deliver(buffer("y"), key: key("operation:op_1:progress"), offset: Offset(epoch: "e1", major: 1)) == .discarded)
        #expect(try await nextClose(other).code == .normal)
        #expect(try await nextOutput(other) == nil)
    }

    @Test("next() hands over everything queued, in order, as one batch")
    func batchesInOrder() async throws {
        let session = makeSession()
        let first = (0..<5).map { buffer("{\"n\":\($0)}") }
        for (i, frame) in first.enumerated() {
            if i % 2 == 0 {
                session.send(frame)
            } else {
                session.deliver(frame, key: key("operation:op_1:progress"), offset: Offset(epoch: "e1", major: UInt64(i)))
            }
        }
        #expect(try await nextFrames(session) == first)

        let second = (5..<8).map { buffer("{\"n\":\($0)}") }
        for frame in second { session.send(frame) }
        #expect(try await nextFrames(session) == second)
    }

    @Test("the queue is reusable after being drained: the limit counts frames waiting, not frames ever sent")
    func limitCountsWaitingFrames() async throws {
        let session = makeSession(queueLimit: 3)
        for round in 0..<4 {
            for i in 0..<3 { #expect(session.send(buffer("\(round)-\(i)")) == .queued) }
            #expect(try await nextFrames(session).count == 3)
        }
        #expect(!session.isClosing)
    }

    @Test("a waiting next() is woken by deliver")
    func wokenByDeliver() async throws {
        let session = makeSession()
        let reader = Task { await session.next() }
        try await waitUntilWaiting(session)
        let frame = buffer(#"{"type":"event"}"#)
        #expect(session.deliver(frame, key: key("operation:op_1:progress"), offset: Offset(epoch: "e1", major: 1)) == .queued)
        let output = try await withTimeout { await reader.value }
        guard case .frames(let frames) = output else {
            Issue.record("expected frames, got \(String(describing: output))")
            return
        }
        #expect(frames == [frame])
        #expect(!session.hasWaiter)
    }

    @Test("a waiting next() is woken by send")
    func wokenBySend() async throws {
        let session = makeSession()
        let reader = Task { await session.next() }
        try await waitUntilWaiting(session)
        let frame = buffer(#"{"type":"pong"}"#)
        #expect(session.send(frame) == .queued)
        let output = try await withTimeout { await reader.value }
        guard case .frames(let frames) = output else {
            Issue.record("expected frames, got \(String(describing: output))")
            return
        }
        #expect(frames == [frame])
    }

    @Test("a waiting next() is woken by requestClose, with the final frame")
    func wokenByClose() async throws {
        let session = makeSession()
        let reader = Task { await session.next() }
        try await waitUntilWaiting(session)
        let final = buffer(#"{"type":"reconnect","reason":"server_shutdown"}"#)
        session.requestClose(.init(code: .serviceRestart, reason: "restart", finalFrame: final))
        let output = try await withTimeout { await reader.value }
        guard case .close(let request) = output else {
            Issue.record("expected close, got \(String(describing: output))")
            return
        }
        #expect(request.code == .serviceRestart)
        #expect(request.finalFrame == final)
        #expect(try await nextOutput(session) == nil)
    }

    @Test("a waiting next() is woken by an overflow with the slow-consumer close")
    func wokenByOverflow() async throws {
        // A waiting writer takes live frames directly, so only the recovery
        // buffer can overflow while it waits.
        let session = makeSession(queueLimit: 1)
        let recovering = key("operation:op_1:progress")
        _ = session.beginSubscribe([recovering], limit: 10)
        let reader = Task { await session.next() }
        try await waitUntilWaiting(session)
        #expect(session.deliver(buffer("1"), key: recovering, offset: Offset(epoch: "e1", major: 1)) == .queued)
        #expect(session.deliver(buffer("2"), key: recovering, offset: Offset(epoch: "e1", major: 2)) == .overflowed)
        let output = try await withTimeout { await reader.value }
        guard case .close(let request) = output else {
            Issue.record("expected close, got \(String(describing: output))")
            return
        }
        #expect(request.code == .slowConsumer)
        #expect(try await nextOutput(session) == nil)
    }

    @Test("cancelling a waiting next() returns nil, and the session keeps working")
    func cancellation() async throws {
        let session = makeSession()
        let reader = Task { await session.next() }
        try await waitUntilWaiting(session)
        reader.cancel()
        let output = try await withTimeout { await reader.value }
        #expect(output == nil)
        #expect(!session.hasWaiter)

        // The session is not closed by a cancelled reader: the next writer gets frames.
        #expect(!session.isClosing)
        let frame = buffer("after")
        #expect(session.send(frame) == .queued)
        #expect(try await nextFrames(session) == [frame])
    }

    @Test("next() in an already cancelled task returns nil when nothing is queued")
    func alreadyCancelled() async throws {
        let session = makeSession()
        let output = try await withTimeout {
            withUnsafeCurrentTask { $0?.cancel() }
            return await session.next()
        }
        #expect(output == nil)
        #expect(!session.hasWaiter)
    }

    @Test("requestClose: queued frames first, then the first close request with its final frame, then nil")
    func firstCloseWins() async throws {
        let session = makeSession()
        let queued = [buffer("a"), buffer("b")]
        for frame in queued { session.send(frame) }
        let firstFinal = buffer(#"{"type":"error","error":{"code":"TOKEN_EXPIRED","message":"x"}}"#)
        session.requestClose(.init(code: .unauthorized, reason: "expired", finalFrame: firstFinal))
        session.requestClose(.init(code: .serviceRestart, reason: "restart", finalFrame: buffer("second")))
        #expect(session.isClosing)

        #expect(try await nextFrames(session) == queued)
        let close = try await nextClose(session)
        #expect(close.code == .unauthorized)
        #expect(close.reason == "expired")
        #expect(close.finalFrame == firstFinal)
        #expect(try await nextOutput(session) == nil)
    }

    @Test("replaceIdentity changes what identity returns")
    func replaceIdentity() {
        let session = makeSession()
        let renewed = identity("alice", expiresAt: Date(timeIntervalSince1970: 2_000_000_000))
        session.replaceIdentity(renewed)
        #expect(session.identity == renewed)
    }
}

@Suite("Session: subscriptions and recovery ordering")
struct SessionSubscriptionTests {
    let epoch = "eabc"
    let topicKey = key("operation:op_1:progress")

    func eventFrame(_ position: UInt64, key: TopicKey? = nil) -> (ByteBuffer, Offset) {
        let event = makeEvent((key ?? topicKey).topic.rawValue, epoch: epoch, position: position)
        return (ByteBuffer(bytes: EventFrame.event(event)), event.offset)
    }

    @Test("beginSubscribe buffers live deliveries for the new key until completeSubscribe")
    func buffersUntilComplete() async throws {
        let session = makeSession()
        let reservation = session.beginSubscribe([topicKey], limit: 10)
        #expect(reservation.accepted == [topicKey])
        let (frame, offset) = eventFrame(1)
        #expect(session.deliver(frame, key: topicKey, offset: offset) == .queued)
        // Nothing reached the writer yet: the buffered event is held back.
        try await expectNothingQueued(session)

        let reply = buffer(#"{"type":"subscribed"}"#)
        session.completeSubscribe(reply: reply, catchups: [.init(key: topicKey, frames: [], baseline: nil)])
        #expect(try await nextFrames(session) == [reply, frame])
    }

    @Test("completeSubscribe: reply, catch-up frames, buffered frames after the baseline, then live frames")
    func recoveryOrdering() async throws {
        let session = makeSession()
        _ = session.beginSubscribe([topicKey], limit: 10)

        // Live events 3...7 arrive while recovery runs; the catch-up covers 1...4.
        var live: [UInt64: ByteBuffer] = [:]
        for position in UInt64(3)...7 {
            let (frame, offset) = eventFrame(position)
            live[position] = frame
            #expect(session.deliver(frame, key: topicKey, offset: offset) == .queued)
        }
        let catchup = (UInt64(1)...4).map { eventFrame($0).0 }
        let reply = buffer(#"{"type":"subscribed","id":"1"}"#)
        session.completeSubscribe(
            reply: reply,
            catchups: [.init(key: topicKey, frames: catchup, baseline: Offset(epoch: epoch, major: 4))])

        let (later, laterOffset) = eventFrame(8)
        #expect(session.deliver(later, key: topicKey, offset: laterOffset) == .queued)

        let frames = try await collectFrames(session, count: 9)
        #expect(frames[0] == reply)
        let offsets = try frames.dropFirst().map { try frameOffset($0)?.major }
        #expect(offsets == Array(UInt64(1)...8).map { Optional($0) })
        #expect(frames[1...4] == catchup[...])
        #expect(frames[5...7] == [live[5]!, live[6]!, live[7]!][...])
        #expect(frames[8] == later)
    }

    @Test("a baseline after every buffered frame drops them all; no baseline keeps them all")
    func baselineExtremes() async throws {
        let other = key("application:app_1:status")
        let session = makeSession()
        _ = session.beginSubscribe([topicKey, other], limit: 10)
        for position in UInt64(1)...3 {
            let (a, offsetA) = eventFrame(position)
            let (b, offsetB) = eventFrame(position, key: other)
            session.deliver(a, key: topicKey, offset: offsetA)
            session.deliver(b, key: other, offset: offsetB)
        }
        let reply = buffer(#"{"type":"subscribed"}"#)
        session.completeSubscribe(
            reply: reply,
            catchups: [
                .init(key: topicKey, frames: [], baseline: Offset(epoch: epoch, major: 3)),
                .init(key: other, frames: [], baseline: nil),
            ])
        let frames = try await nextFrames(session)
        #expect(frames.count == 4)
        #expect(frames.first == reply)
        #expect(try frames.dropFirst().map { try json($0)["topic"]?.stringValue } == Array(repeating: "application:app_1:status", count: 3))
        #expect(try frames.dropFirst().map { try frameOffset($0)?.major } == [1, 2, 3])
    }

    @Test("while one key recovers, live events of other keys go straight out")
    func otherKeysStayLive() async throws {
        let session = makeSession()
        let live = key("application:app_1:status")
        _ = session.beginSubscribe([live], limit: 10)
        session.completeSubscribe(reply: buffer("r1"), catchups: [.init(key: live, frames: [], baseline: nil)])
        #expect(try await nextFrames(session) == [buffer("r1")])

        _ = session.beginSubscribe([topicKey], limit: 10)
        let (recovering, recoveringOffset) = eventFrame(1)
        let (other, otherOffset) = eventFrame(1, key: live)
        session.deliver(recovering, key: topicKey, offset: recoveringOffset)
        session.deliver(other, key: live, offset: otherOffset)
        #expect(try await nextFrames(session) == [other])

        session.completeSubscribe(reply: buffer("r2"), catchups: [.init(key: topicKey, frames: [], baseline: nil)])
        #expect(try await nextFrames(session) == [buffer("r2"), recovering])
    }

    @Test("completeSubscribe wakes a waiting writer with the whole batch")
    func completeWakesWriter() async throws {
        let session = makeSession()
        _ = session.beginSubscribe([topicKey], limit: 10)
        let reader = Task { await session.next() }
        try await waitUntilWaiting(session)
        let (frame, offset) = eventFrame(2)
        session.deliver(frame, key: topicKey, offset: offset)
        // The buffered event must not wake the writer on its own.
        #expect(session.hasWaiter)
        let catchup = eventFrame(1).0
        session.completeSubscribe(
            reply: buffer("reply"), catchups: [.init(key: topicKey, frames: [catchup], baseline: Offset(epoch: epoch, major: 1))])
        let output = try await withTimeout { await reader.value }
        guard case .frames(let frames) = output else {
            Issue.record("expected frames, got \(String(describing: output))")
            return
        }
        #expect(frames == [buffer("reply"), catchup, frame])
    }

    @Test("the recovery buffer is bounded by the queue limit")
    func pendingBufferBounded() async throws {
        let session = makeSession(queueLimit: 3)
        _ = session.beginSubscribe([topicKey], limit: 10)
        for position in UInt64(1)...3 {
            let (frame, offset) = eventFrame(position)
            #expect(session.deliver(frame, key: topicKey, offset: offset) == .queued)
        }
        let (frame, offset) = eventFrame(4)
        #expect(session.deliver(frame, key: topicKey, offset: offset) == .overflowed)
        #expect(try await nextClose(session).code == .slowConsumer)
        // A completion after the close sends nothing.
        session.completeSubscribe(reply: buffer("reply"), catchups: [.init(key: topicKey, frames: [], baseline: nil)])
        #expect(try await nextOutput(session) == nil)
    }

    @Test("subscription limit: keys past the limit are overLimit, repeated keys are existing")
    func limitAndExisting() {
        let session = makeSession()
        let a = key("operation:op_1:progress")
        let b = key("operation:op_2:progress")
        let c = key("operation:op_3:progress")
        let d = key("operation:op_4:progress")

        let first = session.beginSubscribe([a, b], limit: 3)
        #expect(first.accepted == [a, b])
        #expect(first.existing.isEmpty)
        #expect(first.overLimit.isEmpty)

        let second = session.beginSubscribe([a, c, d, a], limit: 3)
        #expect(second.accepted == [c])
        #expect(second.existing == [a])
        #expect(second.overLimit == [d])
        #expect(session.subscriptions == [a, b, c])
        #expect(session.subscriptionCount == 3)
    }

    @Test("unsubscribe returns only the keys that were subscribed and frees their slots")
    func unsubscribe() {
        let session = makeSession()
        let a = key("operation:op_1:progress")
        let b = key("operation:op_2:progress")
        let c = key("operation:op_3:progress")
        _ = session.beginSubscribe([a, b], limit: 2)
        #expect(session.beginSubscribe([c], limit: 2).overLimit == [c])

        #expect(session.unsubscribe([a, c]) == [a])
        #expect(session.subscriptions == [b])
        #expect(session.unsubscribe([a]) == [])
        #expect(session.beginSubscribe([c], limit: 2).accepted == [c])
    }

    @Test("unsubscribing a key that is still recovering drops its buffered events")
    func unsubscribeWhileRecovering() async throws {
        let session = makeSession(queueLimit: 2)
        _ = session.beginSubscribe([topicKey], limit: 10)
        for position in UInt64(1)...2 {
            let (frame, offset) = eventFrame(position)
            session.deliver(frame, key: topicKey, offset: offset)
        }
        #expect(session.unsubscribe([topicKey]) == [topicKey])
        session.completeSubscribe(reply: buffer("reply"), catchups: [])
        #expect(try await nextFrames(session) == [buffer("reply")])
        // The dropped buffer no longer counts against the limit.
        _ = session.beginSubscribe([topicKey], limit: 10)
        for position in UInt64(3)...4 {
            let (frame, offset) = eventFrame(position)
            #expect(session.deliver(frame, key: topicKey, offset: offset) == .queued)
        }
    }
}

@Suite("Session: admission")
struct SessionAdmissionTests {
    @Test("a bucket of perSecond frames at one instant, the next refused, refilled as time passes")
    func tokenBucket() {
        let session = makeSession()
        let perSecond = 10
        let now = ContinuousClock.now
        for i in 0..<perSecond {
            #expect(session.admitFrame(perSecond: perSecond, now: now), "frame \(i) should be admitted")
        }
        #expect(!session.admitFrame(perSecond: perSecond, now: now))

        // Half a second refills half the bucket.
        let later = now.advanced(by: .milliseconds(500))
        for i in 0..<(perSecond / 2) {
            #expect(session.admitFrame(perSecond: perSecond, now: later), "refilled frame \(i) should be admitted")
        }
        #expect(!session.admitFrame(perSecond: perSecond, now: later))

        // A long pause refills to the bucket's size, not beyond.
        let much = later.advanced(by: .seconds(60))
        var admitted = 0
        while session.admitFrame(perSecond: perSecond, now: much) {
            admitted += 1
            if admitted > 10 * perSecond { break }
        }
        #expect(admitted == perSecond)
    }

    @Test("a refused frame does not consume time already earned")
    func refusalKeepsPartialTokens() {
        let session = makeSession()
        let now = ContinuousClock.now
        #expect(session.admitFrame(perSecond: 2, now: now))
        #expect(session.admitFrame(perSecond: 2, now: now))
        // 250 ms earns half a token: refused, but the half is kept.
        #expect(!session.admitFrame(perSecond: 2, now: now.advanced(by: .milliseconds(250))))
        #expect(session.admitFrame(perSecond: 2, now: now.advanced(by: .milliseconds(500))))
        #expect(!session.admitFrame(perSecond: 2, now: now.advanced(by: .milliseconds(500))))
    }

    @Test("recordInvalidFrame counts")
    func invalidFrames() {
        let session = makeSession()
        #expect((1...5).map { _ in session.recordInvalidFrame() } == [1, 2, 3, 4, 5])
        #expect(makeSession(id: 2).recordInvalidFrame() == 1)
    }
}

@Suite("Session: push mode")
struct SessionPushTests {
    /// Counts calls of the wake hook.
    final class WakeCounter: Sendable {
        let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        var hook: @Sendable () -> Void { { self.count.withLock { $0 += 1 } } }
    }

    @Test("wake runs once when output becomes available, again only after take()")
    func wakeOnce() {
        let session = makeSession()
        let wakes = WakeCounter()
        session.attach(wake: wakes.hook)
        #expect(wakes.value == 0)

        session.send(buffer("1"))
        #expect(wakes.value == 1)
        session.deliver(buffer("2"), key: key("operation:op_1:progress"), offset: Offset(epoch: "e1", major: 2))
        #expect(wakes.value == 1)

        let taken = session.take()
        #expect(taken.frames == [buffer("1"), buffer("2")])
        #expect(taken.close == nil)
        #expect(session.take().frames.isEmpty)

        session.send(buffer("3"))
        #expect(wakes.value == 2)
        #expect(session.take().frames == [buffer("3")])
    }

    @Test("attach wakes at once when output is already waiting")
    func attachWithOutput() {
        let queued = makeSession()
        queued.send(buffer("early"))
        let wakes = WakeCounter()
        queued.attach(wake: wakes.hook)
        #expect(wakes.value == 1)
        #expect(queued.take().frames == [buffer("early")])

        let closed = makeSession(id: 2)
        closed.requestClose(.init(code: .normal, reason: "bye"))
        let closeWakes = WakeCounter()
        closed.attach(wake: closeWakes.hook)
        #expect(closeWakes.value == 1)
        #expect(closed.take().close?.code == .normal)
    }

    @Test("requestClose wakes; take() gives the queued frames, then the close once")
    func closeInPushMode() {
        let session = makeSession()
        let wakes = WakeCounter()
        session.attach(wake: wakes.hook)
        session.send(buffer("a"))
        #expect(wakes.value == 1)
        #expect(session.take().frames == [buffer("a")])

        session.send(buffer("b"))
        let final = buffer(#"{"type":"reconnect","reason":"server_shutdown"}"#)
        session.requestClose(.init(code: .serviceRestart, reason: "restart", finalFrame: final))
        #expect(wakes.value == 2)  // one wake for both: the first is still pending
        let taken = session.take()
        #expect(taken.frames == [buffer("b")])
        #expect(taken.close == .init(code: .serviceRestart, reason: "restart", finalFrame: final))
        let again = session.take()
        #expect(again.frames.isEmpty)
        #expect(again.close == nil)
        #expect(session.send(buffer("c")) == .discarded)
    }

    @Test("an overflow wakes even when a wake is pending, and take() gives only the 4008 close")
    func overflowInPushMode() {
        let session = makeSession(queueLimit: 2)
        let wakes = WakeCounter()
        session.attach(wake: wakes.hook)
        session.send(buffer("1"))
        session.send(buffer("2"))
        #expect(wakes.value == 1)
        #expect(session.send(buffer("3")) == .overflowed)
        #expect(wakes.value == 2)
        let taken = session.take()
        #expect(taken.frames.isEmpty)
        #expect(taken.close?.code == .slowConsumer)
    }

    @Test("completeSubscribe wakes the transport with the reply and the catch-up")
    func completeInPushMode() {
        let session = makeSession()
        let k = key("operation:op_1:progress")
        let wakes = WakeCounter()
        session.attach(wake: wakes.hook)
        _ = session.beginSubscribe([k], limit: 10)
        session.deliver(buffer("live-2"), key: k, offset: Offset(epoch: "e1", major: 2))
        #expect(wakes.value == 0)
        session.completeSubscribe(
            reply: buffer("reply"), catchups: [.init(key: k, frames: [buffer("catchup-1")], baseline: Offset(epoch: "e1", major: 1))])
        #expect(wakes.value == 1)
        #expect(session.take().frames == [buffer("reply"), buffer("catchup-1"), buffer("live-2")])
    }
}
