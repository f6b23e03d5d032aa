import Foundation
import Redis

extension RedisOperationStore {
    /// The decision runs in one script on the caller's clock (`now`); Redis
    /// also expires the key `ttl` after the claim (on its own clock), which
    /// only bounds memory: a key is never answered from after its TTL.
    public func claimIdempotencyKey(
        _ key: IdempotencyKey, fingerprint: String, now: Date, ttl: TimeInterval, lease: TimeInterval
    ) async throws -> IdempotencyClaim {
        let ttlMillis = max(Int64((ttl * 1000).rounded()), 1)
        let leaseMillis = Int64((lease * 1000).rounded())
        let reply = try await run(
            RedisOperationScripts.claimIdempotencyKey, keys: [keys.idempotency(key), keys.idempotencyClaims],
            [.string(fingerprint), .integer(now.millisecondsSince1970), .integer(ttlMillis), .integer(leaseMillis)])
        guard let values = reply.array, let decision = values.first?.string else { throw Self.unexpected(reply) }
        switch decision {
        case "claimed": return .claimed
        case "in_flight": return .inFlight
        case "mismatch": return .mismatch
        case "replay" where values.count == 2: return .replay(try RedisOperationCodec.operation(json: values[1]))
        default: throw Self.unexpected(reply)
        }
    }

    public func releaseIdempotencyKey(_ key: IdempotencyKey) async throws {
        _ = try await run(RedisOperationScripts.releaseIdempotencyKey, keys: [keys.idempotency(key), keys.idempotencyClaims], [])
    }

    /// Batches of `sweepBatch` claims, each batch one script.
    public func purgeIdempotencyKeys(olderThan date: Date) async throws -> Int {
        var deleted = 0
        while true {
            let reply = try await run(
                RedisOperationScripts.purgeIdempotencyKeys, keys: [keys.idempotencyClaims],
                [.integer(date.millisecondsSince1970), .integer(Self.sweepBatch)])
            guard let values = reply.array, values.count == 2, let seen = values[0].integer, let gone = values[1].integer else {
                throw Self.unexpected(reply)
            }
            deleted += Int(gone)
            if seen < Self.sweepBatch { return deleted }
        }
    }

    /// How many entries one sweep script handles at most (it blocks Redis meanwhile).
    static let sweepBatch = 500
}
