import HubTesting
import NIOCore
import Testing

@testable import Redis

@Suite("RedisScript", .timeLimit(.minutes(1)))
struct RedisScriptTests {
    static let incrementBy = RedisScript(
        """
        local value = redis.call('INCRBY', KEYS[1], ARGV[1])
        return {value, ARGV[2]}
        """)

    /// How many times the server ran `command`, from `INFO commandstats`.
    func calls(_ command: String, _ client: RedisClient) async throws -> Int {
        let info = try await client.send(["INFO", "commandstats"]).string ?? ""
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_\(command):") }),
            let field = line.split(separator: ",").first(where: { $0.contains("calls=") && !$0.contains("_calls") }),
            let value = Int(field.split(separator: "=").last ?? "")
        else { return 0 }
        return value
    }

    @Test func shaMatchesWhatRedisComputes() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client async throws in
                let reply = try await client.send(["SCRIPT", "LOAD", .string(Self.incrementBy.source)])
                #expect(reply.string == Self.incrementBy.sha1)
                try await client.load(RedisScript("return 1"))
            }
        }
    }

    @Test func evalshaFallsBackToEvalAfterTheCacheIsFlushed() async throws {
        try await withRedisServer { server in
            try await withClient(try server.configuration { $0.poolSize = 1 }) { client async throws in
                // Unknown to the server: EVALSHA gets NOSCRIPT, EVAL runs and caches it.
                let first = try await client.evaluate(Self.incrementBy, keys: ["counter"], arguments: [5, "tag"])
                #expect(first == .array([.integer(5), .bulk("tag")]))
                #expect(try await calls("eval", client) == 1)
                #expect(try await client.send(["SCRIPT", "EXISTS", .string(Self.incrementBy.sha1)]) == .array([.integer(1)]))
                // Cached now: EVALSHA alone.
                let evalshaBefore = try await calls("evalsha", client)
                #expect(try await client.evaluate(Self.incrementBy, keys: ["counter"], arguments: [1, "x"]).array?.first == .integer(6))
                #expect(try await calls("evalsha", client) == evalshaBefore + 1)
                #expect(try await calls("eval", client) == 1)
                // SCRIPT FLUSH (as after a restart): transparently loaded again.
                _ = try await client.send(["SCRIPT", "FLUSH"])
                #expect(try await client.evaluate(Self.incrementBy, keys: ["counter"], arguments: [4, "y"]).array?.first == .integer(10))
                #expect(try await calls("eval", client) == 2)
            }
        }
    }

    @Test func scriptErrorsAreServerErrors() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client async throws in
                let failing = RedisScript("return redis.error_reply('HUB_LIMIT too many')")
                let error = await redisError { try await client.evaluate(failing) }
                #expect(error?.code == .serverError)
                #expect(error?.serverErrorPrefix == "HUB_LIMIT")
                let broken = RedisScript("this is not lua")
                #expect(await redisError { try await client.evaluate(broken) }?.code == .serverError)
            }
        }
    }
}
