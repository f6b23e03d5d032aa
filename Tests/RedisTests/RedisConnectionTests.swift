import HubTesting
import NIOCore
import Testing

@testable import Redis

@Suite("RedisConnection", .timeLimit(.minutes(1)))
struct RedisConnectionTests {
    @Test func basicCommandsAndReplyTypes() async throws {
        try await withRedisServer { server in
            try await withConnection(server) { connection async throws in
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
            #expect(wrongType?.isTemporary == false, "a wrong type stays wrong")
            // Out of memory says "not now": temporary (the hub answers 503, an ingest entry stays pending).
            _ = try await connection.send(["CONFIG", "SET", "maxmemory-policy", "noeviction"])
            _ = try await connection.send(["CONFIG", "SET", "maxmemory", "1"])
            let full = await redisError { try await connection.send(["SET", "more", "data"]) }
            _ = try await connection.send(["CONFIG", "SET", "maxmemory", "0"])
            #expect(full?.serverErrorPrefix == "OOM")
            #expect(full?.isTemporary == true)
            // The connection is still fine after error replies.
            #expect(try await connection.send(["ECHO", "still here"]) == .bulk("still here"))
            }
        }
    }
}

extension RedisConnectionTests {
    @Test func binarySafeValues() async throws {
        try await withRedisServer { server in
            try await withConnection(server) { connection in
                let everyByte = ByteBuffer(bytes: (0...255).map { UInt8($0) })
                _ = try await connection.send(["SET", .bytes(everyByte), .bytes(everyByte)])
                #expect(try await connection.send(["GET", .bytes(everyByte)]) == .bulkString(everyByte))
                var generator = SystemRandomNumberGenerator()
                let mebibyte = ByteBuffer(bytes: (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
                _ = try await connection.send(["SET", "big", .bytes(mebibyte)])
                #expect(try await connection.send(["STRLEN", "big"]) == .integer(1 << 20))
                #expect(try await connection.send(["GET", "big"]) == .bulkString(mebibyte))
                #expect(try await connection.send(["SET", "empty", ""]) == .simpleString("OK"))
                #expect(try await connection.send(["GET", "empty"]) == .bulkString(ByteBuffer()))
            }
        }
    }

    @Test func tenThousandPipelinedCommandsKeepTheirOrder() async throws {
        try await withRedisServer { server in
            try await withConnection(server) { connection in
                let replies = try await connection.pipeline(Array(repeating: ["INCR", "n"], count: 10_000))
                #expect(replies == (1...10_000).map { .integer(Int64($0)) })
                // Mixed commands, error replies stay in their place.
                let mixed = try await connection.pipeline([["SET", "a", "1"], ["NOPE"], ["GET", "a"], ["LPOP", "a"], ["PING"]])
                #expect(mixed.count == 5)
                #expect(mixed[0] == .simpleString("OK"))
                #expect(mixed[1].errorMessage?.hasPrefix("ERR unknown command") == true)
                #expect(mixed[2] == .bulk("1"))
                #expect(mixed[3].errorMessage?.hasPrefix("WRONGTYPE") == true)
                #expect(mixed[4] == .simpleString("PONG"))
                #expect(try await connection.pipeline([]) == [])
            }
        }
    }

    @Test func concurrentSendsOnOneConnectionEachGetTheirOwnReply() async throws {
        try await withRedisServer { server in
            try await withConnection(server) { connection in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for task in 0..<50 {
                        group.addTask { () async throws in
                            for index in 0..<100 {
                                let value = "\(task)-\(index)"
                                #expect(try await connection.send(["ECHO", .string(value)]) == .bulk(value))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(connection.pendingCommands == 0)
            }
        }
    }

    @Test func selectedDatabase() async throws {
        try await withRedisServer { server in
            try await withConnection(try server.configuration { $0.database = 3 }) { three in
                _ = try await three.send(["SET", "where", "three"])
                try await withConnection(server) { zero in
                    #expect(try await zero.send(["GET", "where"]) == .bulkString(nil))
                    _ = try await zero.send(["SELECT", 3])
                    #expect(try await zero.send(["GET", "where"]) == .bulk("three"))
                }
            }
            let viaURL = try RedisConfiguration(url: server.url + "/3")
            let connection = try await RedisConnection.connect(configuration: viaURL, logger: testLogger)
            #expect(try await connection.send(["GET", "where"]) == .bulk("three"))
            await connection.close()
        }
    }

    @Test func clientNameIsSet() async throws {
        try await withRedisServer { server in
            try await withConnection(try server.configuration { $0.clientName = "hub-test" }) { connection async throws in
                #expect(try await connection.send(["CLIENT", "GETNAME"]) == .bulk("hub-test"))
            }
        }
    }

    @Test func authWithPasswordAndACLUser() async throws {
        try await withRedisServer(arguments: ["--requirepass", "s3cret"]) { server in
            try await withConnection(try server.configuration { $0.password = "s3cret" }) { connection in
                #expect(try await connection.send(["PING"]) == .simpleString("PONG"))
                _ = try await connection.send(["ACL", "SETUSER", "alice", "on", ">alice-pw", "~*", "+@all"])
            }
            try await withConnection(try server.configuration { $0.username = "alice"; $0.password = "alice-pw" }) { connection async throws in
                #expect(try await connection.send(["ACL", "WHOAMI"]) == .bulk("alice"))
            }
            let percentEncoded = try RedisConfiguration(url: "redis://alice:alice%2Dpw@127.0.0.1:\(server.port)")
            #expect(percentEncoded.password == "alice-pw")
            let wrong = await redisError {
                try await RedisConnection.connect(configuration: try server.configuration { $0.password = "nope" }, logger: testLogger)
            }
            #expect(wrong?.code == .authenticationFailed)
            #expect(wrong?.message.contains("WRONGPASS") == true)
            let missing = await redisError {
                try await RedisConnection.connect(configuration: try server.configuration(), logger: testLogger)
            }
            #expect(missing?.code == .authenticationFailed)
            #expect(missing?.message.contains("NOAUTH") == true)
            // Through a client: commands fail fast and say why.
            let client = try RedisClient(configuration: try server.configuration { $0.password = "nope" }, logger: testLogger)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await client.run() }
                let error = await redisError { try await client.send(["PING"]) }
                #expect(error?.code == .notConnected)
                #expect(error?.message.contains("WRONGPASS") == true)
                group.cancelAll()
            }
        }
    }

    @Test func aLateReplyTimesOutTheCommandAndClosesTheConnection() async throws {
        try await withRedisServer { server in
            try await withConnection(server) { admin in
                try await withConnection(try server.configuration { $0.commandTimeout = .milliseconds(200) }) { connection in
                    // Pause every client's commands, for far longer than the
                    // timeout even on a stalled machine: replies come late (the
                    // pause ends with the server, stopped when the test ends).
                    _ = try await admin.send(["CLIENT", "PAUSE", 60_000, "ALL"])
                    async let second = redisError { try await connection.send(["GET", "b"], timeout: .seconds(30)) }
                    let first = await redisError { try await connection.send(["GET", "a"]) }
                    #expect(first?.code == .timeout)
                    // The other pending command cannot be answered any more.
                    #expect(await second?.code == .connectionClosed)
                    try await withTimeout(30, "the connection to close") { try await connection.closeFuture.get() }
                    #expect(!connection.isActive)
                    #expect(await redisError { try await connection.send(["PING"]) }?.code == .connectionClosed)
                }
            }
        }
    }

    @Test func aReplyOverTheLimitClosesTheConnection() async throws {
        try await withRedisServer { server in
            try await withConnection(try server.configuration { $0.replyLimits.maxBulkLength = 1000 }) { connection in
                _ = try await connection.send(["SET", "small", .bytes(ByteBuffer(repeating: 1, count: 1000))])
                #expect(try await connection.send(["GET", "small"]).bytes?.readableBytes == 1000)
                _ = try await connection.send(["SET", "large", .bytes(ByteBuffer(repeating: 1, count: 1001))])
                let error = await redisError { try await connection.send(["GET", "large"]) }
                #expect(error?.code == .replyTooLarge)
                try await withTimeout(5, "the connection to close") { try await connection.closeFuture.get() }
            }
            try await withConnection(try server.configuration { $0.replyLimits.maxReplyBytes = 10_000 }) { connection in
                _ = try await connection.send(RedisCommand(["RPUSH", "list"] + (0..<3000).map { .integer($0) }))
                let error = await redisError { try await connection.send(["LRANGE", "list", 0, -1]) }
                #expect(error?.code == .replyTooLarge)
            }
        }
    }

    @Test func connectingToANonListeningPortFails() async throws {
        let port = try await withRedisServer { $0.port }  // stopped: nothing listens there now
        let error = await redisError {
            try await RedisConnection.connect(configuration: RedisConfiguration(port: port), logger: testLogger)
        }
        #expect(error?.code == .connectionFailed)
    }
}
