import NIOCore

extension RedisConnection {
    /// `AUTH`, `CLIENT SETNAME`, `SELECT` and `PING`, pipelined, all before
    /// `deadline`. The `PING` makes sure the connection is usable: a server
    /// that wants a password answers it with `NOAUTH`.
    func handshake(_ configuration: RedisConfiguration, deadline: NIODeadline) async throws(RedisError) {
        var commands: [RedisCommand] = []
        if let password = configuration.password {
            if let username = configuration.username {
                commands.append(["AUTH", .string(username), .string(password)])
            } else {
                commands.append(["AUTH", .string(password)])
            }
        }
        if let name = configuration.clientName {
            commands.append(["CLIENT", "SETNAME", .string(name)])
        }
        if configuration.database != 0 {
            commands.append(["SELECT", .integer(configuration.database)])
        }
        commands.append(["PING"])
        let remaining = deadline - NIODeadline.now()
        guard remaining > .zero else {
            throw RedisError(.timeout, "the connect timeout passed before the handshake")
        }
        let replies: [RESPValue]
        do {
            replies = try await pipeline(commands, timeout: .nanoseconds(remaining.nanoseconds))
        } catch where error.code == .connectionClosed {
            throw RedisError(.connectionFailed, "the connection closed during the handshake: \(error.message)")
        }
        for (command, reply) in zip(commands, replies) {
            guard case .error(let message) = reply else { continue }
            if command.name == "AUTH" || message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") {
                throw RedisError(.authenticationFailed, message)
            }
            throw RedisError(.connectionFailed, "\(command.name) failed: \(message)")
        }
    }
}
