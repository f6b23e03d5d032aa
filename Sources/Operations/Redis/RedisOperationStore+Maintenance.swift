import Foundation
import Redis

extension RedisOperationStore {
    /// One `ZRANGEBYSCORE` of `{P}:heartbeats` (a single command is atomic):
    /// ordered by deadline, then tenant and id. A pure read, like the other
    /// stores: several nodes may get the same operations, and the version
    /// guard of the change that fails one lets exactly one of them commit.
    public func expiredHeartbeats(at now: Date, limit: Int) async throws -> [OperationRef] {
        guard limit > 0 else { return [] }
        let reply = try await send([
            "ZRANGEBYSCORE", .string(keys.heartbeats), "-inf", .integer(now.millisecondsSince1970), "LIMIT", 0, .integer(limit),
        ])
        return try Self.refs(reply)
    }

    /// One script (`RedisOperationScripts.purgeFinished`) per call: nodes
    /// sweeping at the same time delete disjoint operations.
    public func purgeFinished(before date: Date, limit: Int) async throws -> [OperationRef] {
        guard limit > 0 else { return [] }
        let reply = try await run(
            RedisOperationScripts.purgeFinished, keys: [keys.finished], [.integer(date.millisecondsSince1970), .integer(limit)])
        return try Self.refs(reply)
    }

    /// References from an array of `<tenant>\0<id>` members.
    static func refs(_ reply: RESPValue) throws(OperationError) -> [OperationRef] {
        guard let members = reply.array else { throw unexpected(reply) }
        var refs: [OperationRef] = []
        refs.reserveCapacity(members.count)
        for member in members {
            guard let text = member.string, let ref = RedisOperationKeys.ref(member: text) else { throw unexpected(reply) }
            refs.append(ref)
        }
        return refs
    }
}
