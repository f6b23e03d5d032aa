import Synchronization

/// The first reason a command channel closed for, written by its
/// ``RedisCommandHandler`` on the event loop and read by ``RedisConnection``
/// from any thread.
final class RedisCloseReason: Sendable {
    private let reason = Mutex<RedisError?>(nil)

    /// Keeps the first reason only.
    func record(_ error: RedisError) {
        reason.withLock { if $0 == nil { $0 = error } }
    }

    var error: RedisError? { reason.withLock { $0 } }
}
