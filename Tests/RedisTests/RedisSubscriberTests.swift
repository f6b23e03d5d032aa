import HubTesting
import NIOCore
import ServiceLifecycle
import Testing

@testable import Redis

@Suite("RedisSubscriber", .timeLimit(.minutes(1)))
struct RedisSubscriberTests {
    @Test func subscribeReceiveAndUnsubscribe() async throws {
        try await withRedisServer { server in
            let recorder = EventRecorder()
            try await withConnection(server) { publisher async throws in
                try await withSubscriber(try server.configuration(), recorder: recorder) { subscriber async throws in
                    try await subscriber.subscribe(["alpha", "beta"])
                    #expect(try await recorder.next() == .connected)
                    #expect(subscriber.isConnected)
                    // subscribe returned after Redis confirmed: the publish already sees the subscriber.
                    #expect(try await publisher.send(["PUBLISH", "alpha", "one"]) == .integer(1))
                    #expect(try await recorder.nextMessage() == RedisPubSubMessage(channel: "alpha", payload: ByteBuffer(string: "one")))
                    // Binary and large payloads arrive intact.
                    let binary = ByteBuffer(bytes: (0...255).map { UInt8($0) })
                    _ = try await publisher.send(["PUBLISH", "beta", .bytes(binary)])
                    #expect(try await recorder.nextMessage().payload == binary)
                    let large = ByteBuffer(repeating: 0x61, count: 300_000)
                    _ = try await publisher.send(["PUBLISH", "beta", .bytes(large)])
                    #expect(try await recorder.nextMessage().payload == large)
                    // Patterns.
                    try await subscriber.psubscribe(["news.*"])
                    _ = try await publisher.send(["PUBLISH", "news.sport", "goal"])
                    #expect(try await recorder.nextMessage() == RedisPubSubMessage(channel: "news.sport", pattern: "news.*", payload: ByteBuffer(string: "goal")))
                    // After unsubscribe returns, nothing is delivered for those names.
                    try await subscriber.unsubscribe(["alpha"])
                    try await subscriber.punsubscribe(["news.*"])
                    #expect(try await publisher.send(["PUBLISH", "alpha", "gone"]) == .integer(0))
                    #expect(try await publisher.send(["PUBLISH", "news.x", "gone"]) == .integer(0))
                    _ = try await publisher.send(["PUBLISH", "beta", "last"])
                    #expect(try await recorder.nextMessage().payload == ByteBuffer(string: "last"))
                    #expect(subscriber.channels == ["beta"])
                    #expect(subscriber.patterns == [])
                    // Unsubscribing everything leaves subscribed mode; the connection stays usable.
                    try await subscriber.unsubscribe(["beta"])
                    try await subscriber.subscribe(["gamma"])
                    #expect(try await publisher.send(["PUBLISH", "gamma", "back"]) == .integer(1))
                    #expect(try await recorder.nextMessage().channel == "gamma")
                }
            }
        }
    }

    @Test func manyConcurrentSubscribesAreEachConfirmed() async throws {
        try await withRedisServer { server in
            let recorder = EventRecorder()
            try await withSubscriber(try server.configuration(), recorder: recorder) { subscriber async throws in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<100 {
                        group.addTask { try await subscriber.subscribe(["c\(index)", "shared"]) }
                    }
                    try await group.waitForAll()
                }
                let count = try await withConnection(server) { admin in
                    try await admin.send(["PUBSUB", "NUMSUB", "c0", "c99", "shared"])
                }
                #expect(count == .array([.bulk("c0"), .integer(1), .bulk("c99"), .integer(1), .bulk("shared"), .integer(1)]))
            }
        }
    }

    @Test func resubscribesAfterARestart() async throws {
        try await withRedisServer { server in
            let recorder = EventRecorder()
            try await withSubscriber(try server.configuration(), recorder: recorder) { subscriber async throws in
                try await subscriber.subscribe(["events"])
                try await subscriber.psubscribe(["ops.*"])
                #expect(try await recorder.next() == .connected)
                try await server.stop()
                guard case .disconnected = try await recorder.next("the disconnect") else {
                    Issue.record("expected .disconnected, got \(recorder.all)")
                    return
                }
                #expect(!subscriber.isConnected)
                // While down: fail fast, but keep the subscription for later.
                let down = await redisError { try await subscriber.subscribe(["late"]) }
                #expect(down?.code == .notConnected)
                #expect(subscriber.channels == ["events", "late"])
                try await server.restart()
                #expect(try await recorder.next("the resubscription", timeout: 15) == .resubscribed)
                #expect(subscriber.isConnected)
                try await withConnection(server) { publisher async throws in
                    #expect(try await publisher.send(["PUBLISH", "events", "after"]) == .integer(1))
                    #expect(try await recorder.nextMessage().payload == ByteBuffer(string: "after"))
                    #expect(try await publisher.send(["PUBLISH", "late", "kept"]) == .integer(1))
                    #expect(try await recorder.nextMessage().channel == "late")
                    #expect(try await publisher.send(["PUBLISH", "ops.deploy", "p"]) == .integer(1))
                    #expect(try await recorder.nextMessage().pattern == "ops.*")
                }
            }
        }
    }

    @Test func aDeadConnectionIsDetectedByPing() async throws {
        try await withRedisServer { server in
            let recorder = EventRecorder()
            // Generous margins: the machine may be busy, and only a pause far
            // longer than the interval must count as a dead connection. The
            // connect timeout outlasts the pause (a reconnect during it just
            // waits) and a slow first handshake on a loaded machine.
            let configuration = try server.configuration { $0.connectTimeout = .seconds(10) }
            try await withSubscriber(configuration, healthCheckInterval: .milliseconds(500), recorder: recorder) { subscriber async throws in
                try await subscriber.subscribe(["beat"])
                #expect(try await recorder.next() == .connected)
                try await withConnection(server) { admin async throws in
                    // Redis stops answering everyone for 3 s: the PING goes unanswered.
                    _ = try await admin.send(["CLIENT", "PAUSE", 3000, "ALL"])
                    let event = try await recorder.next("the dead connection to be noticed")
                    guard case .disconnected(let error) = event else {
                        Issue.record("expected .disconnected, got \(event)")
                        return
                    }
                    #expect(error.code == .timeout)
                    #expect(try await recorder.next("the resubscription", timeout: 20) == .resubscribed)
                    // The server may still count the dead connection until it
                    // processes its close (it was paused): wait for that, then
                    // exactly one subscriber, the new connection, is left.
                    try await withTimeout(30, "the server to drop the dead connection") {
                        while try await admin.send(["PUBSUB", "NUMSUB", "beat"]).array?.last?.integer != 1 { await Task.yield() }
                    }
                    #expect(try await admin.send(["PUBLISH", "beat", "x"]) == .integer(1))
                    #expect(try await recorder.nextMessage().channel == "beat")
                }
            }
        }
    }

    @Test func aSubscriptionConfirmedLateIsStillMade() async throws {
        try await withRedisServer { server in
            let recorder = EventRecorder()
            let configuration = try server.configuration { $0.commandTimeout = .milliseconds(200) }
            try await withSubscriber(configuration, recorder: recorder) { subscriber async throws in
                #expect(try await recorder.next() == .connected)
                try await withConnection(server) { admin async throws in
                    // (3 s: far longer than the 200 ms timeout, even on a busy machine.)
                    _ = try await admin.send(["CLIENT", "PAUSE", 3000, "ALL"])
                    // The confirmation comes after the caller gave up…
                    let error = await redisError { try await subscriber.subscribe(["slow"]) }
                    #expect(error?.code == .timeout)
                    #expect(subscriber.channels == ["slow"])
                    // …but the subscription is made once Redis runs again.
                    // (Not asserted by publishing at once: the SUBSCRIBE may
                    // still be in the subscriber's writer when the caller
                    // times out, so the admin's PUBLISH can reach Redis, and
                    // run after the pause, before it.)
                    try await withTimeout(10, "Redis to make the late subscription") {
                        while try await admin.send(["PUBSUB", "NUMSUB", "slow"]).array?.last?.integer != 1 { await Task.yield() }
                    }
                    let reply = try await admin.send(["PUBLISH", "slow", "finally"])
                    #expect(reply == .integer(1))
                    #expect(try await recorder.nextMessage().payload == ByteBuffer(string: "finally"))
                }
            }
        }
    }

    @Test func subscribeRightAtStartWaitsForTheFirstConnection() async throws {
        try await withRedisServer { server in
            let recorder = EventRecorder()
            let subscriber = try RedisSubscriber(configuration: try server.configuration(), logger: testLogger, onEvent: recorder.record)
            let group = ServiceGroup(services: [subscriber], logger: testLogger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await withTimeout(30, "the service group to stop") { try await group.run() } }
                try await subscriber.subscribe(["first"])
                #expect(try await recorder.next() == .connected)
                try await withConnection(server) { publisher async throws in
                    #expect(try await publisher.send(["PUBLISH", "first", "x"]) == .integer(1))
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(await redisError { try await subscriber.subscribe(["after"]) }?.code == .shutDown)
            await #expect(throws: RedisError.self) { try await subscriber.run() }
        }
    }
}
