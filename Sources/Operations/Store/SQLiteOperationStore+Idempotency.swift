import Foundation
import GRDB

extension SQLiteOperationStore {
    public func claimIdempotencyKey(
        _ key: IdempotencyKey, fingerprint: String, now: Date, ttl: TimeInterval, lease: TimeInterval
    ) async throws -> IdempotencyClaim {
        let nowMillis = now.millisecondsSince1970
        let expiredBefore = now.addingTimeInterval(-ttl).millisecondsSince1970
        let leaseBefore = now.addingTimeInterval(-lease).millisecondsSince1970
        let decision: (IdempotencyClaim?, String?) = try await write { db in
            if let row = try Row.fetchOne(
                db, sql: "SELECT fingerprint, claimed_at, operation FROM idempotency_keys WHERE tenant = ? AND caller = ? AND key = ?",
                arguments: [key.tenant, key.caller, key.key])
            {
                let claimedAt: Int64 = row["claimed_at"]
                if claimedAt > expiredBefore {
                    let stored: String = row["fingerprint"]
                    if stored != fingerprint { return (.mismatch, nil) }
                    if let operation: String = row["operation"] { return (nil, operation) }
                    if claimedAt > leaseBefore { return (.inFlight, nil) }
                }
            }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO idempotency_keys (tenant, caller, key, fingerprint, claimed_at, operation)
                    VALUES (?, ?, ?, ?, ?, NULL)
                    """, arguments: [key.tenant, key.caller, key.key, fingerprint, nowMillis])
            return (.claimed, nil)
        }
        if let body = decision.1 {
            do {
                return .replay(try Self.decode(body))
            } catch {
                throw OperationError.unavailable("stored idempotent answer is unreadable: \(error)")
            }
        }
        return decision.0 ?? .claimed
    }

    public func releaseIdempotencyKey(_ key: IdempotencyKey) async throws {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM idempotency_keys WHERE tenant = ? AND caller = ? AND key = ? AND operation IS NULL",
                arguments: [key.tenant, key.caller, key.key])
        }
    }

    public func purgeIdempotencyKeys(olderThan date: Date) async throws -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM idempotency_keys WHERE claimed_at < ?", arguments: [date.millisecondsSince1970])
            return db.changesCount
        }
    }
}
