import HubTesting
import Logging
import NIOCore
import ServiceLifecycle
import Testing

@testable import Redis

@Suite("RedisClient", .timeLimit(.minutes(1)))
struct RedisClientTests {
    @Test func manyConcurrentCallersShareThePool() async throws {
        try await withRedisServer { server in
            try await withClient(try server.configuration { $0.poolSize = 3 }) { client async throws in
                #expect(client.connectedCount == 3 || client.isConnected)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for task in 0..<40 {
                        group.addTask { () async throws in
                            for index in 0..<100 {
                                _ = try await client.send(["INCR", "shared"])
                                let key = RedisArgument("key-\(task)")
                                _ = try await client.send(["SET", key, .integer(index)])
                                #expect(try await client.send(["GET", key]) == .bulk("\(index)"))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(try await client.send(["GET", "shared"]) == .bulk("4000"))
                // The load went to more than one connection.
                let clients = try await client.send(["CLIENT", "LIST"]).string ?? ""
                #expect(clients.split(separator: "\n").count >= 2)
            }
        }
    }

    @Test func pipelineGoesToOneConnectionInOrder() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client async throws in
                let replies = try await client.pipeline(Array(repeating: ["INCR", "n"], count: 10_000))
                #expect(replies == (1...10_000).map { .integer(Int64($0)) })
                // MULTI/EXEC in one pipeline is not interleaved with other callers.
                let transaction = try await client.pipeline([["MULTI"], ["SET", "t", "1"], ["INCR", "t"], ["EXEC"]])
                #expect(transaction.last == .array([.simpleString("OK"), .integer(2)]))
            }
        }
    }

    @Test func commandsFailFastWhileRedisIsDownAndWorkAfterItIsBack() async throws {
        try await withRedisServer { server in
            try await withClient(try server.configuration { $0.poolSize = 2 }) { client async throws in
                _ = try await client.send(["SET", "before", "1"])
                try await server.stop()
                // Every command fails at once with a temporary error; none hangs.
                // A command can find a connection whose close is not noticed
                // yet (connectionClosed); once it failed, that channel is
                // closed and skipped, so with 2 connections the rest fail
                // with notConnected.
                let codes = try await withTimeout(5, "commands to fail while Redis is down") {
                    var codes: [RedisError.Code?] = []
                    for _ in 0..<20 {
                        codes.append(await redisError { try await client.send(["GET", "before"]) }?.code)
                    }
                    return codes
                }
                #expect(codes.allSatisfy { $0 == .notConnected || $0 == .connectionClosed })
                #expect(codes.filter { $0 == .connectionClosed }.count <= 2)
                #expect(codes.last == .notConnected)
                #expect(!client.isConnected)
                #expect(await client.isReachable(timeout: .milliseconds(500)) == false)
                #expect(await redisError { try await client.send(["PING"]) }?.code == .notConnected)
                try await server.restart()
                try await withTimeout(10, "the client to reconnect") { try await client.waitForConnection() }
                // A fresh server (no persistence): the old key is gone, new ones work.
                #expect(try await client.send(["GET", "before"]) == .bulkString(nil))
                #expect(try await client.send(["SET", "after", "2"]) == .simpleString("OK"))
                #expect(await client.isReachable())
            }
        }
    }

    @Test func aTimedOutConnectionIsReplaced() async throws {
        try await withRedisServer { server in
            try await withConnection(server) { admin in
                let configuration = try server.configuration {
                    $0.poolSize = 1
                    $0.commandTimeout = .milliseconds(200)
                }
                try await withClient(configuration) { client async throws in
                    // Writes pause until UNPAUSE (long enough for any stall of the machine).
                    _ = try await admin.send(["CLIENT", "PAUSE", 60_000, "WRITE"])
                    #expect(await redisError { try await client.send(["SET", "k", "v"]) }?.code == .timeout)
                    _ = try await admin.send(["CLIENT", "UNPAUSE"])
                    try await withTimeout(10, "the client to reconnect") { try await client.waitForConnection() }
                    // A reconnect is either done or about to be: retry until the pool has a live connection.
                    let reply = try await withTimeout(10, "a command to succeed after the reconnect") {
                        while true {
                            do { return try await client.send(["SET", "k", "v2"]) } catch let error as RedisError where error.isTemporary {
                                try await client.waitForConnection()
                            }
                        }
                    }
                    #expect(reply == .simpleString("OK"))
                }
            }
        }
    }

    @Test func aReplyOverTheLimitFailsOnlyThatCommand() async throws {
        try await withRedisServer { server in
            let configuration = try server.configuration {
                $0.poolSize = 1
                $0.replyLimits.maxBulkLength = 100
            }
            try await withClient(configuration) { client async throws in
                _ = try await client.send(["SET", "big", .bytes(ByteBuffer(repeating: 0, count: 101))])
                #expect(await redisError { try await client.send(["GET", "big"]) }?.code == .replyTooLarge)
                let length = try await withTimeout(10, "the client to reconnect") {
                    while true {
                        try await client.waitForConnection()
                        if let reply = try? await client.send(["STRLEN", "big"]) { return reply }
                    }
                }
                #expect(length == .integer(101))
            }
        }
    }

    @Test func waitingForTheFirstConnectionAndNotRunning() async throws {
        try await withRedisServer { server in
            let client = try RedisClient(configuration: try server.configuration(), logger: testLogger)
            // Not running: wait for run() only as long as the connect timeout.
            let early = try RedisClient(configuration: try server.configuration { $0.connectTimeout = .milliseconds(100) }, logger: testLogger)
            #expect(await redisError { try await early.send(["PING"]) }?.code == .notConnected)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                // Right after start, a command waits for the first attempts instead of failing.
                let pong = try await client.send(["PING"])
                #expect(pong == .simpleString("PONG"))
                group.cancelAll()
            }
            // After run() returned, commands fail with shutDown.
            #expect(await redisError { try await client.send(["PING"]) }?.code == .shutDown)
            #expect(!client.isConnected)
        }
    }

    @Test func unreachableAtStartFailsAfterTheFirstAttempts() async throws {
        let port = try await withRedisServer { $0.port }
        let client = try RedisClient(configuration: RedisConfiguration(port: port, poolSize: 2), logger: testLogger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await client.run() }
            let error = await redisError { try await client.send(["PING"]) }
            #expect(error?.code == .notConnected)
            #expect(error?.message.contains("could not connect") == true)
            group.cancelAll()
        }
    }

    @Test func cleanShutdownUnderAServiceGroup() async throws {
        try await withRedisServer { server in
            try await withConnection(server) { admin in
                let client = try RedisClient(configuration: try server.configuration { $0.clientName = "pooled" }, logger: testLogger)
                let group = ServiceGroup(services: [client], logger: testLogger)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await withTimeout(30, "the service group to stop") { try await group.run() } }
                    try await withTimeout(10, "the client to connect") { try await client.waitForConnection() }
                    _ = try await client.send(["SET", "k", "v"])
                    // A command in flight when shutdown starts still gets its
                    // reply: a BLPOP blocked in Redis, answered only once the
                    // client refuses new commands.
                    async let inFlight = client.send(["BLPOP", "q", 0], timeout: .seconds(30))
                    try await withTimeout(10, "the command to be in flight") {
                        while try await admin.send(["CLIENT", "LIST"]).string?.contains("cmd=blpop") != true { await Task.yield() }
                    }
                    await group.triggerGracefulShutdown()
                    try await withTimeout(10, "the client to refuse new commands") {
                        while await redisError({ try await client.send(["PING"]) })?.code != .shutDown { await Task.yield() }
                    }
                    _ = try await admin.send(["LPUSH", "q", "v"])
                    #expect(try await inFlight == .array([.bulk("q"), .bulk("v")]))
                    try await tasks.waitForAll()
                }
                #expect(!client.isConnected)
                #expect(await redisError { try await client.send(["PING"]) }?.code == .shutDown)
                // A second run is refused.
                await #expect(throws: RedisError.self) { try await client.run() }
            }
        }
    }
}
