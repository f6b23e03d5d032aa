import HubTesting
import Testing

@testable import Redis

/// The test helper itself: it must fail loudly and restart on the same port.
@Suite("RedisServer helper", .timeLimit(.minutes(1)))
struct RedisServerTests {
    @Test func aServerThatCannotStartFailsWithItsLog() async throws {
        await #expect {
            try await RedisServer.start(arguments: ["--no-such-directive", "x"])
        } throws: { error in
            (error as? RedisServerError)?.description.contains("no-such-directive") == true
        }
    }

    @Test func stopAndRestartOnTheSamePort() async throws {
        try await withRedisServer { server in
            try await withConnection(server) { connection in
                _ = try await connection.send(["SET", "k", "v"])
            }
            let port = server.port
            try await server.restart()
            #expect(server.port == port)
            try await withConnection(server) { connection async throws in
                #expect(try await connection.send(["GET", "k"]) == .bulkString(nil))
            }
            try await server.stop()
            try await server.stop()  // idempotent
            let refused = await redisError { try await RedisConnection.connect(configuration: try server.configuration(), logger: testLogger) }
            #expect(refused?.code == .connectionFailed)
        }
    }
}
