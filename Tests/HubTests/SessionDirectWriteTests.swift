import NIOCore
import Protocol
import Synchronization
import Testing

@testable import Hub

@Suite("Session: direct writes in push mode")
struct SessionDirectWriteTests {
    /// A transport's direct write: records what it is offered, takes it or refuses it.
    final class DirectWrites: Sendable {
        private let state = Mutex((offered: [ByteBuffer](), accepting: true))
        var offered: [ByteBuffer] { state.withLock { $0.offered } }
        func accept(_ accepting: Bool) { state.withLock { $0.accepting = accepting } }
        var hook: @Sendable (ByteBuffer) -> Bool {
            { frame in
                self.state.withLock { state in
                    state.offered.append(frame)
                    return state.accepting
                }
            }
        }
    }

    let executor = ManualExecutor()
    let topic = key("operation:op_1:progress")

    func attached(queueLimit: Int = 64) -> (Session, SessionPushTests.WakeCounter, DirectWrites) {
        let session = Session(id: 1, connectionID: "c_1", identity: identity(), queueLimit: queueLimit, executor: executor)
        let wakes = SessionPushTests.WakeCounter()
        let direct = DirectWrites()
        session.attach(wake: wakes.hook, direct: direct.hook)
        return (session, wakes, direct)
    }

    func offset(_ major: UInt64) -> Offset { Offset(epoch: "e1", major: major) }

    @Test("a live frame that finds nothing queued is written directly: no queue, no wake")
    func directWhenIdle() {
        let (session, wakes, direct) = attached()
        #expect(session.deliver(buffer("1"), key: topic, offset: offset(1)) == .queued)
        #expect(session.deliver(buffer("2"), key: topic, offset: offset(2)) == .queued)
        #expect(direct.offered == [buffer("1"), buffer("2")])
        #expect(wakes.value == 0)
        #expect(session.take().frames.isEmpty)
    }

    @Test("a refused direct write queues the frame and wakes; later frames queue behind it until it is taken")
    func refusedThenQueued() {
        let (session, wakes, direct) = attached()
        direct.accept(false)
        #expect(session.deliver(buffer("1"), key: topic, offset: offset(1)) == .queued)
        #expect(wakes.value == 1)
        direct.accept(true)
        // The socket would take it now, but "1" is still queued: "2" must not overtake it.
        #expect(session.deliver(buffer("2"), key: topic, offset: offset(2)) == .queued)
        #expect(direct.offered == [buffer("1")])
        #expect(wakes.value == 1)
        #expect(session.take().frames == [buffer("1"), buffer("2")])
        // Drained: the next frame goes directly again.
        session.deliver(buffer("3"), key: topic, offset: offset(3))
        #expect(direct.offered == [buffer("1"), buffer("3")])
    }

    @Test("a live frame queues behind a reply that is waiting to be written")
    func behindControlFrames() {
        let (session, wakes, direct) = attached()
        session.send(buffer("reply"))
        executor.runAll()
        #expect(wakes.value == 1)
        session.deliver(buffer("live"), key: topic, offset: offset(1))
        #expect(direct.offered.isEmpty)
        #expect(session.take().frames == [buffer("reply"), buffer("live")])
    }

    @Test("a refused direct write at the queue limit still closes the slow consumer with 4008")
    func refusedAtTheLimit() {
        let (session, wakes, direct) = attached(queueLimit: 2)
        direct.accept(false)
        #expect(session.deliver(buffer("1"), key: topic, offset: offset(1)) == .queued)
        #expect(session.deliver(buffer("2"), key: topic, offset: offset(2)) == .queued)
        #expect(session.deliver(buffer("3"), key: topic, offset: offset(3)) == .overflowed)
        #expect(direct.offered == [buffer("1")])
        #expect(wakes.value == 2)
        let taken = session.take()
        #expect(taken.frames.isEmpty)
        #expect(taken.close?.code == .slowConsumer)
    }

    @Test("a closing session writes nothing directly")
    func closing() {
        let (session, _, direct) = attached()
        session.requestClose(.init(code: .normal, reason: "bye"))
        executor.runAll()
        #expect(session.deliver(buffer("late"), key: topic, offset: offset(1)) == .discarded)
        #expect(direct.offered.isEmpty)
    }

    @Test("live frames of a subscription still recovering wait for its catch-up, then go out behind it")
    func recoveringSubscription() {
        let (session, wakes, direct) = attached()
        _ = session.beginSubscribe([topic], limit: 10)
        #expect(session.deliver(buffer("live-2"), key: topic, offset: offset(2)) == .queued)
        #expect(direct.offered.isEmpty)
        session.completeSubscribe(reply: buffer("reply"), catchups: [.init(key: topic, frames: [buffer("catchup-1")], baseline: offset(1))])
        executor.runAll()
        #expect(wakes.value == 1)
        #expect(session.take().frames == [buffer("reply"), buffer("catchup-1"), buffer("live-2")])
        #expect(direct.offered.isEmpty)
    }
}
