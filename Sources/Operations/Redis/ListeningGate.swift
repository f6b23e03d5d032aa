import Synchronization

/// Whether the change channel's subscription is confirmed, and the tasks
/// waiting until it is (`RedisOperationChangeListener.waitUntilListening()`).
/// A (re)connection confirms it only once the channel was requested (the
/// subscriber's `.connected` may come before the `SUBSCRIBE`). Waiting is a
/// continuation, resumed when it is confirmed or the waiter is cancelled.
final class ListeningGate: Sendable {
    private struct State {
        var listening = false
        /// The channel is in the subscriber's set (subscribed on every connection).
        var requested = false
        var nextID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    var isListening: Bool { state.withLock { $0.listening } }

    /// `SUBSCRIBE` was confirmed.
    func subscribed() {
        update { $0.requested = true; $0.listening = true }
    }

    /// `SUBSCRIBE` was asked for but not confirmed (Redis down): it is sent again on reconnection.
    func requested() {
        update { $0.requested = true }
    }

    /// The subscriber (re)connected with every requested subscription confirmed.
    func connected() {
        update { $0.listening = $0.requested }
    }

    func disconnected() {
        update { $0.listening = false }
    }

    private func update(_ change: (inout State) -> Void) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            change(&state)
            guard state.listening else { return [] }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in ready { waiter.resume() }
    }

    func waitUntilListening() async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.listening || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
