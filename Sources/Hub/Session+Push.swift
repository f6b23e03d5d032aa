import NIOCore
import Protocol
import Synchronization

/// Push mode, for transports that run on an event loop instead of a writer
/// task: the session calls `wake` when output becomes available (once, until
/// the transport takes it with `take()`), and the transport drains it
/// synchronously. A session is either pulled with `next()` or pushed, never both.
extension Session {
    /// Switches the session to push mode. `direct`, when given, is offered
    /// each live event frame that finds nothing queued, on the session's
    /// executor: it writes the frame at once (`true`) or refuses it (`false`:
    /// the socket is full, or the executor is batching), and then the frame
    /// is queued and `wake` called as without it.
    public func attach(wake: @escaping @Sendable () -> Void, direct: (@Sendable (ByteBuffer) -> Bool)? = nil) {
        precondition(direct == nil || executor != nil, "a direct write runs on the session's executor")
        let fire = state.withLock { state -> Bool in
            state.wake = wake
            state.direct = direct
            let ready = !state.queue.isEmpty || (state.closing != nil && !state.closeTaken)
            state.wakePending = ready
            return ready
        }
        if fire { wake() }
    }

    /// Everything ready to write now: queued frames, then (once) the close.
    public func take() -> (frames: [ByteBuffer], close: CloseRequest?) {
        state.withLock { state in
            state.wakePending = false
            let frames = Array(state.queue)
            state.queue.removeAll(keepingCapacity: state.queue.count <= 64)
            state.catchupAllowance = 0
            var close: CloseRequest?
            if let closing = state.closing, !state.closeTaken {
                state.closeTaken = true
                close = closing
            }
            return (frames, close)
        }
    }

    /// Like `take()`, without allocating: swaps the session's queue with
    /// `frames` (which must be empty), so the transport reuses two buffers.
    public func take(swapping frames: inout CircularBuffer<ByteBuffer>) -> CloseRequest? {
        state.withLock { state in
            state.wakePending = false
            state.catchupAllowance = 0
            swap(&frames, &state.queue)
            if let closing = state.closing, !state.closeTaken {
                state.closeTaken = true
                return closing
            }
            return nil
        }
    }

    /// Called by the enqueue paths under the lock: whether the wake hook must run.
    static func needsWake(_ state: inout State) -> (@Sendable () -> Void)? {
        guard let wake = state.wake, !state.wakePending else { return nil }
        state.wakePending = true
        return wake
    }
}
