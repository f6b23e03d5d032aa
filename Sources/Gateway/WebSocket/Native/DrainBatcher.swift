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
///
/// Work submitted to the loop (`submit`: fan-outs, sends, closes) runs in
/// one task per batch, in submission order. A batch of one (the loop was
/// idle) drains each session as it is handed the event, so the first socket
/// write does not wait for the last enqueue. A batch of several (events
/// arrived while the loop was busy fanning out the one before) first hands
/// every event to every session and then drains each woken session once: a
/// subscriber gets all of them in one write, so the syscalls per delivered
/// frame fall as the load rises instead of the backlog growing.
final class DrainBatcher: SessionExecutor {
    let loop: any EventLoop
    private let state = Mutex(State())
    /// The list handed back and forth with `state.woken`, so neither allocates.
    private let spare: NIOLoopBoundBox<[NIOLoopBound<WebSocketSessionHandler>]>
    /// Event frames framed once for every session of this loop.
    let frames: NIOLoopBoundBox<FrameCache>

    /// Sessions woken on the loop while a batch of several works runs, drained after it.
    private let deferred: NIOLoopBoundBox<[NIOLoopBound<WebSocketSessionHandler>]?>

    private struct State {
        var woken: [NIOLoopBound<WebSocketSessionHandler>] = []
        var scheduled = false
        var works: [@Sendable () -> Void] = []
        var worksScheduled = false
    }

    init(loop: any EventLoop) {
        self.loop = loop
        self.spare = NIOLoopBoundBox([], eventLoop: loop)
        self.frames = NIOLoopBoundBox(FrameCache(), eventLoop: loop)
        self.deferred = NIOLoopBoundBox(nil, eventLoop: loop)
    }

    /// Runs `work` on the loop, after everything submitted before (FIFO, as
    /// `EventLoop.execute` is): the sessions of this loop are changed only here.
    func submit(_ work: @escaping @Sendable () -> Void) {
        let first = state.withLock { state -> Bool in
            state.works.append(work)
            guard !state.worksScheduled else { return false }
            state.worksScheduled = true
            return true
        }
        if first { loop.execute { self.runWorks() } }
    }

    /// On the loop: every work submitted so far, in order (see the type's comment).
    private func runWorks() {
        let works = state.withLock { state -> [@Sendable () -> Void] in
            state.worksScheduled = false
            defer { state.works.removeAll(keepingCapacity: state.works.capacity <= 64) }
            return state.works
        }
        guard works.count > 1 else {
            works.first?()
            return
        }
        deferred.value = []
        for work in works { work() }
        let woken = deferred.value ?? []
        deferred.value = nil
        for handler in woken { handler.value.drain() }
    }

    /// Asks for `handler` to be drained on the loop: at once when called on the
    /// loop (a fan-out task writes each session as it enqueues to it, so the
    /// first socket write does not wait for the last enqueue) unless a batch of
    /// several works is running (then once, after the batch), else soon.
    func schedule(_ handler: NIOLoopBound<WebSocketSessionHandler>) {
        if loop.inEventLoop {
            if deferred.value != nil {
                deferred.value?.append(handler)
            } else {
                handler.value.drain()
            }
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

    /// Writes `frame` to `handler`'s socket at once, when called on the loop
    /// outside a batch of several works (a batch gives each session all its
    /// frames in one write instead, see the type's comment); `false` when
    /// not, or when the socket does not take it now.
    func writeNow(_ handler: NIOLoopBound<WebSocketSessionHandler>, _ frame: ByteBuffer) -> Bool {
        guard loop.inEventLoop, deferred.value == nil else { return false }
        return handler.value.writeNow(frame)
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
