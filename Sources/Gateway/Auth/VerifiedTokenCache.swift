import Foundation
import NIOCore
import Protocol
import Synchronization

/// Tokens that verified, by their exact text, so that a client sending the
/// same token on every request (workers, CLIs) pays for signature and JSON
/// decoding once per `lifetime` instead of on every request.
///
/// Only successes are kept. A hit is still checked against the token's `exp`
/// (with the leeway), so an expired token is refused as before; the same
/// bytes carry the same signature, so nothing else can change. Bounded by
/// `capacity` (oldest entries go first). Keys are never rotated at run time
/// today; if they are, `removeAll()` must be called.
public final class VerifiedTokenCache: Sendable {
    public let capacity: Int
    public let lifetime: TimeInterval
    private let state = Mutex(State())

    private struct Entry {
        var identity: Identity
        var cachedAt: Date
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var order = CircularBuffer<String>()
    }

    public init(capacity: Int, lifetime: TimeInterval) {
        self.capacity = capacity
        self.lifetime = lifetime
    }

    /// The identity of `token` if it verified within `lifetime` and is not expired at `now`.
    func identity(for token: String, now: Date, leeway: TimeInterval) -> Identity? {
        state.withLock { state in
            guard let entry = state.entries[token] else { return nil }
            guard now.timeIntervalSince(entry.cachedAt) < lifetime,
                let expires = entry.identity.expiresAt, expires.addingTimeInterval(leeway) > now
            else {
                state.entries[token] = nil
                return nil
            }
            return entry.identity
        }
    }

    func store(_ identity: Identity, for token: String, now: Date) {
        guard capacity > 0 else { return }
        state.withLock { state in
            if state.entries.updateValue(Entry(identity: identity, cachedAt: now), forKey: token) == nil {
                state.order.append(token)
            }
            while state.entries.count > capacity, let oldest = state.order.popFirst() {
                state.entries[oldest] = nil
            }
            // Tokens dropped at lookup (expired) leave their names in `order`: compact now and then.
            if state.order.count > capacity * 2 { state.order = CircularBuffer(state.entries.keys) }
        }
    }

    public var count: Int { state.withLock { $0.entries.count } }

    public func removeAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.order.removeAll()
        }
    }
}
