import HubTesting
import NIOCore
import Testing

@testable import Redis

@Suite("RedisConnection", .timeLimit(.minutes(1)))
struct RedisConnectionTests {
    @Test func basicCommandsAndReplyTypes() async throws {
        try await withRedisServer { server in
            let connection = try await RedisConnection.connect(configuration: try server.configuration(), logger: testLogger)
            defer { Task { await connection.close() } }
            #expect(try await connection.send(["PING"]) == .simpleString("PONG"))
            #expect(try await connection.send(["SET", "greeting", "hello"]) == .simpleString("OK"))
            #expect(try await connection.send(["GET", "greeting"]) == .bulk("hello"))
            #expect(try await connection.send(["GET", "missing"]) == .bulkString(nil))
            #expect(try await connection.send(["INCRBY", "counter", 41]) == .integer(41))
            #expect(try await connection.send(["INCR", "counter"]).integer == 42)
            #expect(try await connection.send(["RPUSH", "list", "a", "b", "c"]) == .integer(3))
            #expect(try await connection.send(["LRANGE", "list", 0, -1]) == .array([.bulk("a"), .bulk("b"), .bulk("c")]))
            #expect(try await connection.send(["LRANGE", "nothing", 0, -1]) == .array([]))
            // A nil array: BLPOP timing out.
            #expect(try await connection.send(["BLPOP", "empty", "0.01"]) == .array(nil))
            // Errors: a typed server error with Redis's message and prefix.
            let unknown = await redisError { try await connection.send(["NOPE"]) }
            #expect(unknown?.code == .serverError)
            #expect(unknown?.serverErrorPrefix == "ERR")
            #expect(unknown?.message.contains("unknown command") == true)
            let wrongType = await redisError { try await connection.send(["INCR", "list"]) }
            #expect(wrongType?.serverErrorPrefix == "WRONGTYPE")
            // The connection is still fine after error replies.
            #expect(try await connection.send(["ECHO", "still here"]) == .bulk("still here"))
        }
    }
}
