extension RedisClient {
    /// Runs `script` with `EVALSHA`, falling back to `EVAL` when Redis
    /// answers `NOSCRIPT`. Errors raised by the script itself throw
    /// ``RedisError/Code/serverError`` as usual.
    ///
    /// The `EVALSHA` and a fallback `EVAL` may go to different connections;
    /// that is harmless because the script cache is per server.
    public func evaluate(
        _ script: RedisScript, keys: [RedisArgument] = [], arguments: [RedisArgument] = []
    ) async throws(RedisError) -> RESPValue {
        let tail = [.integer(keys.count)] + keys + arguments
        do {
            return try await send(RedisCommand(["EVALSHA", .string(script.sha1)] + tail))
        } catch where error.serverErrorPrefix == "NOSCRIPT" {
            return try await send(RedisCommand(["EVAL", .string(script.source)] + tail))
        }
    }

    /// Loads `script` into the server's cache (`SCRIPT LOAD`) and checks that
    /// the server computed the same SHA-1.
    public func load(_ script: RedisScript) async throws(RedisError) {
        let reply = try await send(["SCRIPT", "LOAD", .string(script.source)])
        guard reply.string == script.sha1 else {
            throw RedisError.unexpectedReply("SCRIPT LOAD returned \(reply), expected \(script.sha1)")
        }
    }
}
