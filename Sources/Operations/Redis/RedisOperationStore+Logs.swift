import Redis

extension RedisOperationStore {
    /// One atomic read (`RedisOperationScripts.logs`) of the counters and the lines.
    public func logs(_ ref: OperationRef, after: Int, limit: Int) async throws -> LogPage {
        let limit = max(limit, 0)
        let reply = try await run(
            RedisOperationScripts.logs, keys: [keys.operation(ref), keys.log(ref)], [.integer(after), .integer(limit + 1)])
        if reply.isNil { throw OperationError.notFound(ref.id) }
        guard let values = reply.array, values.count == 3, let lastSequence = values[0].integer,
            let dropped = values[1].integer, let members = values[2].array
        else { throw Self.unexpected(reply) }
        var lines: [LogLine] = []
        lines.reserveCapacity(min(members.count, limit))
        for member in members.prefix(limit) { lines.append(try RedisOperationCodec.line(member)) }
        return LogPage(
            lines: lines, lastSequence: Int(lastSequence), dropped: Int(dropped), gap: after < Int(dropped),
            hasMore: members.count > lines.count)
    }
}
