import Foundation
import Redis

extension RedisOperationStore {
    /// `SET {P}:lock:<t>:<id> <token> NX PX <writeLockTTL>` (longer than
    /// any change takes), retried with a short backoff while another node
    /// holds it, for at most `writeLockWait` (then `unavailable`); released
    /// with a compare-and-delete (only the holder's token deletes it), also
    /// when `body` throws.
    public func withWriteLock<T>(_ ref: OperationRef, _ body: () async throws -> T) async throws -> T {
        let key = keys.writeLock(ref)
        let token = UUID().uuidString
        let giveUp = ContinuousClock.now + writeLockWait
        var delay = Duration.milliseconds(1)
        while true {
            let reply: RESPValue
            do {
                reply = try await client.send(["SET", .string(key), .string(token), "NX", "PX", .integer(writeLockTTL.milliseconds(atLeast: 1))])
            } catch {
                throw Self.unavailable(error)
            }
            if reply.string == "OK" { break }
            guard ContinuousClock.now + delay < giveUp else {
                throw OperationError.unavailable("operation \(ref.id) is being changed by another node; try again")
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(50))
        }
        let result: Result<T, any Error>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        _ = try? await client.evaluate(.deleteIfEqual, keys: [.string(key)], arguments: [.string(token)])
        return try result.get()
    }
}
