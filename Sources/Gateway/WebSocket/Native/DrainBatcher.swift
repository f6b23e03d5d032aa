import Hub
import NIOCore
import Synchronization

/// Coalesces the wake-ups of the WebSocket sessions served on one event loop.
///
/// One event fanned out to 10,000 subscribers wakes 10,000 sessions. Instead
/// of one task submitted to the event loop per session (a lock, an allocation
/// and maybe a selector wake-up each), sessions woken while a drain task is
/// pending join it: the loop runs one task that drains every session woken
/// since the last one.
final class DrainBatcher: SessionExecutor {
    let loop: any EventLoop
    private let state = Mutex(State())
    /// The list handed back and forth with `state.woken`, so neither allocates.
    private let spare: NIOLoopBoundBox<[NIOLoopBound<WebSocketSessionHandler>]>
    /// Event frames framed once for every session of this loop.
    let frames: NIOLoopBoundBox<FrameCache>

    private struct State {
        var woken: [NIOLoopBound<WebSocketSessionHandler>] = []
        var scheduled = false
    }

    init(loop: any EventLoop) {
        self.loop = loop
        self.spare = NIOLoopBoundBox([], eventLoop: loop)
        self.frames = NIOLoopBoundBox(FrameCache(), eventLoop: loop)
    }

    /// Runs `work` on the loop, after everything submitted before (FIFO, as
    /// `EventLoop.execute` is): the sessions of this loop are changed only here.
    func submit(_ work: @escaping @Sendable () -> Void) {
        loop.execute(work)
    }

    /// Asks for `handler` to be drained on the loop: at once when called on the
    /// loop (a fan-out task writes each session as it enqueues to it, so the
    /// first socket write does not wait for the last enqueue), else soon.
    func schedule(_ handler: NIOLoopBound<WebSocketSessionHandler>) {
        if loop.inEventLoop {
            handler.value.drain()
            return
        }
        let submit = state.withLock { state -> Bool in
            state.woken.append(handler)
            guard !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        if submit { loop.execute { self.run() } }
    }

    /// On the loop: drains every session woken so far.
    private func run() {
        var batch = spare.value
        spare.value = []
        state.withLock { state in
            swap(&batch, &state.woken)
            state.scheduled = false
        }
        for handler in batch { handler.value.drain() }
        batch.removeAll(keepingCapacity: batch.capacity <= 16_384)
        spare.value = batch
    }
}

/// One `DrainBatcher` per event loop of the server.
final class DrainBatchers: Sendable {
    private let batchers = Mutex<[ObjectIdentifier: DrainBatcher]>([:])

    func batcher(for loop: any EventLoop) -> DrainBatcher {
        batchers.withLock { batchers in
            let key = ObjectIdentifier(loop)
            if let batcher = batchers[key] { return batcher }
            let batcher = DrainBatcher(loop: loop)
            batchers[key] = batcher
            return batcher
        }
    }
}
