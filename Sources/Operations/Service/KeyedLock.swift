import Synchronization

/// Mutual exclusion per key for async code: `withLock(key)` runs its body
/// while no other body holds the same key; waiters are served in arrival
/// order. Keys nobody holds cost nothing. Waiting does not block a thread
/// (a continuation per waiter) and is not cancellable: critical sections are short.
final class KeyedLock<Key: Hashable & Sendable>: Sendable {
    private struct Entry {
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// A key present in the map is held; its entry queues the waiters.
    private let held = Mutex<[Key: Entry]>([:])

    init() {}

    func withLock<T>(_ key: Key, _ body: () async throws -> T) async rethrows -> T {
        await acquire(key)
        defer { release(key) }
        return try await body()
    }

    private func acquire(_ key: Key) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = held.withLock { held -> Bool in
                if held[key] == nil {
                    held[key] = Entry()
                    return true
                }
                held[key]!.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    /// Hands the key to the first waiter, or frees it.
    private func release(_ key: Key) {
        let next = held.withLock { held -> CheckedContinuation<Void, Never>? in
            guard var entry = held[key], !entry.waiters.isEmpty else {
                held[key] = nil
                return nil
            }
            let first = entry.waiters.removeFirst()
            held[key] = entry
            return first
        }
        next?.resume()
    }

    /// How many keys are held (for tests).
    var heldCount: Int { held.withLock { $0.count } }
}
