import Synchronization

/// Whether a subscription is confirmed, and the tasks waiting until it is
/// (`RedisOperationChangeListener.waitUntilListening()`). Waiting is a
/// continuation, resumed by `setListening(true)` or the waiter's cancellation.
final class ListeningGate: Sendable {
    private struct State {
        var listening = false
        var nextID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    var isListening: Bool { state.withLock { $0.listening } }

    func setListening(_ listening: Bool) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.listening = listening
            guard listening else { return [] }
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
