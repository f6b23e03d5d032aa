import Foundation
import HubTesting
import NIOCore
import Protocol
import Redis
import Testing

@testable import Hub

/// Runs `body` with an admin connection of its own (it stays authenticated
/// when the test sets a password meanwhile).
func withAdmin<T: Sendable>(_ server: RedisServer, _ body: (RedisConnection) async throws -> T) async throws -> T {
    let admin = try await RedisConnection.connect(configuration: try server.redisConfiguration(clientName: "admin"), logger: busTestLogger)
    let result: Result<T, any Error>
    do {
        result = .success(try await body(admin))
    } catch {
        result = .failure(error)
    }
    await admin.close()
    return try result.get()
}

extension RedisConnection {
    /// The channels that have subscribers (server-wide), without the probe channels of node start-up.
    func subscribedChannels() async throws -> Set<String> {
        let reply = try await send(["PUBSUB", "CHANNELS", "hub:*"])
        return Set((reply.array ?? []).compactMap(\.string))
    }

    func patternCount() async throws -> Int64 {
        try await send(["PUBSUB", "NUMPAT"]).integer ?? -1
    }

    /// The id of the client connection named `name` (`CLIENT SETNAME`).
    func clientID(named name: String) async throws -> String {
        let list = try #require(try await send(["CLIENT", "LIST"]).string)
        for line in list.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.contains(where: { $0 == "name=\(name)" }), let id = fields.first(where: { $0.hasPrefix("id=") }) {
                return String(id.dropFirst(3))
            }
        }
        throw UnexpectedOutput(description: "no client named \(name) in \(list)")
    }
}

@Suite("RedisEventBus")
struct RedisEventBusTests {
    let progress = "operation:op_1:progress"

    func publish(_ node: RedisNode, _ topicText: String, count: Int, tenant: String = "acme") async throws -> [Event] {
        var events: [Event] = []
        for n in 0..<count {
            events += try await node.bus.publish([draft(topicText, tenant: tenant, data: ["n": .number(Double(n))])])
        }
        return events
    }

    func subscribe(_ node: RedisNode, _ session: Session, _ topics: [String], since: [String: String] = [:]) async throws -> SubscribedReply {
        await node.core.subscribe(session, .init(id: "s", topics: topics, since: since))
        let frames = try await nextFrames(session)
        #expect(frames.count == 1)
        return try SubscribedReply(try #require(frames.first))
    }

    func frames(_ events: [Event]) -> [ByteBuffer] {
        events.map { ByteBuffer(bytes: EventFrame.event($0)) }
    }

    // MARK: - Two nodes

    @Test("an event published on node A reaches a session on node B, in order; B gets nothing it did not ask for")
    func crossNode() async throws {
        try await withRedisServer { server in
            try await withRedisNodes(server) { a, b in
                let session = try b.session()
                _ = try await subscribe(b, session, [progress])
                let events = try await publish(a, progress, count: 20)
                _ = try await publish(a, "operation:op_2:progress", count: 3)
                #expect(try await collectFrames(session, count: 20) == frames(events))
                try await expectNothingQueued(session)
                // Node A's own sessions get its events through Redis as well.
                let local = try a.session("carol")
                _ = try await subscribe(a, local, [progress])
                let more = try await publish(a, progress, count: 2)
                #expect(try await collectFrames(local, count: 2) == frames(more))
                #expect(try await collectFrames(session, count: 2) == frames(more))
            }
        }
    }

    @Test("a session of node B that reconnects on node A with since recovers without gap or duplicate")
    func reconnectOnAnotherNode() async throws {
        try await withRedisServer { server in
            try await withRedisNodes(server) { a, b in
                let first = try b.session()
                _ = try await subscribe(b, first, [progress])
                let seen = try await publish(a, progress, count: 5)
                #expect(try await collectFrames(first, count: 5) == frames(seen))
                b.core.detach(first)
                let missed = try await publish(b, progress, count: 3)

                let again = try a.session()
                await a.core.subscribe(again, .init(id: "r", topics: [progress], since: [progress: seen.last!.offset.description]))
                let recovered = try await collectFrames(again, count: 4)
                #expect(try SubscribedReply(recovered[0]).entry(progress) == .init(topic: progress, offset: missed.last!.offset.description, recovered: true))
                #expect(Array(recovered.dropFirst()) == frames(missed))
                let live = try await publish(b, progress, count: 2)
                #expect(try await collectFrames(again, count: 2) == frames(live))
                try await expectNothingQueued(again)
            }
        }
    }

    // MARK: - Losing Redis

    @Test("after a restart without persistence the epoch is renewed: an old since gets resync")
    func epochRenewedAfterRestart() async throws {
        try await withRedisServer { server in
            try await withRedisNode(server) { node in
                let recorder = ObservationRecorder()
                _ = try await node.bus.observe(topic("operation:*:progress"), recorder.handler)
                let before = try await publish(node, progress, count: 3)
                try await server.restart()
                try await recorder.wait { $0 == .resumed }
                try await HubTests.withTimeout(10) { try await node.client.waitForConnection() }
                let after = try await HubTests.withTimeout(10) {
                    // The pool may still hold a connection that has not seen the restart.
                    while true {
                        do { return try await node.bus.publish([draft(progress)]) } catch let error as HubError where error.temporary { await Task.yield() }
                    }
                }
                #expect(after[0].offset.epoch != before[0].offset.epoch)
                #expect(after[0].offset.epoch.hasPrefix("r"))
                let page = try await node.bus.history(key(progress), after: before.last!.offset, limit: 100)
                #expect(page == .resync(latest: after[0].offset))
                let session = try node.session()
                let reply = try await subscribe(node, session, [progress], since: [progress: before.last!.offset.description])
                #expect(reply.entry(progress) == .init(topic: progress, offset: after[0].offset.description, recovered: false, resync: true))
            }
        }
    }

    @Test("Redis down: a since on a topic the node holds is refused for now (SERVICE_UNAVAILABLE), not answered resync; back, the same since recovers")
    func sinceWhileRedisIsDown() async throws {
        // With persistence: the history is still there when Redis is back.
        let dir = NSTemporaryDirectory() + "hub-since-aof-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await withRedisServer(arguments: ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir]) { server in
            try await withRedisNode(server) { node in
                let holder = try node.session()
                _ = try await subscribe(node, holder, [progress])
                let events = try await publish(node, progress, count: 3)
                #expect(try await collectFrames(holder, count: 3) == frames(events))
                let since = [progress: events[0].offset.description]

                try await server.stop()
                let late = try node.session("bob")
                let refused = try await subscribe(node, late, [progress], since: since)
                #expect(refused.topics.isEmpty)
                #expect(refused.denied.map(\.code) == ["SERVICE_UNAVAILABLE"])
                #expect(refused.denied.first?.message.contains("retry with the same since") == true)
                #expect(late.subscriptionCount == 0)
                // A subscription the session had is given up too: it asked to recover and could not.
                let again = try await subscribe(node, holder, [progress], since: since)
                #expect(again.denied.map(\.code) == ["SERVICE_UNAVAILABLE"])
                #expect(holder.subscriptionCount == 0)
                #expect(node.metrics.meter("hub_subscriptions") == 0, "refused subscriptions are not counted")

                try await server.restart()
                try await HubTests.withTimeout(10) { try await node.client.waitForConnection() }
                // The client retries with the same since until the node has it again.
                // One try may wait up to `subscribeTimeout` (10 s) for the subscriber
                // connection to come back and confirm: the bound covers a few of them.
                let output = try await HubTests.withTimeout(40) {
                    while true {
                        await node.core.subscribe(late, .init(id: "s", topics: [progress], since: since))
                        let output = try await collectFrames(late, count: 1, timeout: 20)
                        let reply = try SubscribedReply(output[0])
                        if reply.denied.isEmpty {
                            let rest = 3 - output.count
                            return rest > 0 ? output + (try await collectFrames(late, count: rest)) : output
                        }
                        #expect(reply.denied.map(\.code) == ["SERVICE_UNAVAILABLE"], "\(reply.denied.map(\.message))")
                    }
                }
                #expect(try SubscribedReply(output[0]).entry(progress)?.recovered == true)
                #expect(Array(output.dropFirst()) == frames(Array(events[1...])))
                #expect(node.metrics.meter("hub_subscriptions") == 1)
            }
        }
    }

    @Test("Redis down: publish throws SERVICE_UNAVAILABLE, not ready, sessions stay; back: their lost history closes them with reconnect, and the node carries on")
    func redisDownAndBack() async throws {
        try await withRedisServer { server in
            var options = RedisNodeOptions()
            options.subscribeTimeout = .seconds(3)
            try await withRedisNode(server, options: options) { node in
                let recorder = ObservationRecorder()
                _ = try await node.bus.observe(topic("operation:*:progress"), recorder.handler)
                let session = try node.session()
                _ = try await subscribe(node, session, [progress])
                let first = try await publish(node, progress, count: 1)
                #expect(try await nextFrames(session) == frames(first))

                try await server.stop()
                try await recorder.wait { $0 == .interrupted }
                #expect(await node.bus.isReady() == false)
                await #expect(throws: HubError.self) { _ = try await node.bus.publish([draft(progress)]) }
                do {
                    _ = try await node.bus.publish([draft(progress)])
                } catch let error as HubError {
                    #expect(error.code == .serviceUnavailable)
                    #expect(error.temporary)
                }
                // A new subscription cannot be confirmed: denied after the subscribe
                // timeout, not hanging. (An admin's access check needs no lookup,
                // which would fail at once.)
                let late = try node.session("bob")
                let denied = try await subscribe(node, late, ["application:*:status"])
                #expect(denied.denied.map(\.code) == ["SERVICE_UNAVAILABLE"])
                #expect(denied.denied.map(\.topic) == ["application:*:status"])
                let entity = try await subscribe(node, late, ["operation:op_2:progress"])
                #expect(entity.denied.map(\.code) == ["SERVICE_UNAVAILABLE"])
                #expect(late.subscriptionCount == 0)
                #expect(session.isClosing == false)
                try await expectNothingQueued(session)

                try await server.restart()
                try await recorder.wait { $0 == .resumed }
                // Its topic's history is gone with the data set: the session cannot be
                // told what it missed, so it is asked to reconnect and resume (resync).
                let close = try await nextClose(session)
                #expect(close.code == .serviceRestart)
                #expect(try close.finalFrame.map { try json($0) } == ["type": "reconnect", "reason": "events_missed"])
                #expect(node.metrics.counter("hub_bus_gap_closes_total") == 1)
                node.core.detach(session)

                try await HubTests.withTimeout(10) { try await node.client.waitForConnection() }
                let fresh = try node.session("carol")
                _ = try await subscribe(node, fresh, [progress])
                #expect(await node.bus.isReady())
                let later = try await publish(node, progress, count: 2)
                #expect(try await collectFrames(fresh, count: 2) == frames(later))
            }
        }
    }

    @Test("the subscriber connection killed while events are published: they are recovered from the stream, in order, once")
    func gapFilledAfterSubscriberReconnect() async throws {
        try await withRedisServer { server in
            try await withAdmin(server) { admin in
                try await withRedisNodes(server) { a, b in
                    let recorder = ObservationRecorder()
                    _ = try await b.bus.observe(topic("operation:*:progress"), recorder.handler)
                    let exact = try b.session()
                    _ = try await subscribe(b, exact, [progress])
                    let wildcard = try b.session("bob")
                    _ = try await subscribe(b, wildcard, ["operation:*:progress"])
                    let quiet = try b.session("carol")
                    _ = try await subscribe(b, quiet, ["operation:op_quiet:progress"])
                    // The sync markers are out: they reach B before e1 (one connection, in order).
                    await b.bus.subscriptionsSettled()
                    let e1 = try await publish(a, progress, count: 1)
                    #expect(try await nextFrames(exact) == frames(e1))
                    #expect(try await nextFrames(wildcard) == frames(e1))

                    // Keep node B's subscriber out while node A publishes: a password
                    // for new connections (established ones stay authenticated).
                    _ = try await admin.send(["CONFIG", "SET", "requirepass", "hub-test-secret"])
                    let id = try await admin.clientID(named: "node-b-subscriber")
                    _ = try await admin.send(["CLIENT", "KILL", "ID", .string(id)])
                    try await recorder.wait { $0 == .interrupted }
                    let missed = try await publish(a, progress, count: 3)
                    // A subscription made meanwhile waits for the subscriber to be back.
                    let late = try b.session("dave")
                    let fresh = "operation:op_new:progress"
                    async let lateReply = subscribe(b, late, [fresh])
                    try await HubTests.withTimeout(10) {
                        while !b.bus.subscribedNames.channels.contains(b.bus.keys.channel(key(fresh))) { await Task.yield() }
                    }
                    await b.bus.subscriptionsSettled()
                    _ = try await admin.send(["CONFIG", "SET", "requirepass", ""])
                    try await recorder.wait { $0 == .resumed }
                    #expect(try await lateReply.entry(fresh)?.topic == fresh)
                    let freshEvents = try await publish(a, fresh, count: 1)
                    #expect(try await nextFrames(late) == frames(freshEvents))

                    #expect(try await collectFrames(exact, count: 3) == frames(missed))
                    let live = try await publish(a, progress, count: 2)
                    #expect(try await collectFrames(exact, count: 2) == frames(live))
                    try await expectNothingQueued(exact)
                    try await expectNothingQueued(quiet)
                    #expect(exact.isClosing == false)
                    // A wildcard subscription has no single history to recover from: it
                    // gets what was recovered for exact topics, then is asked to reconnect.
                    #expect(try await collectFrames(wildcard, count: 3) == frames(missed))
                    let close = try await nextClose(wildcard)
                    #expect(close.code == .serviceRestart)
                    #expect(b.metrics.counter("hub_bus_recovered_events_total") == 3)
                    #expect(b.metrics.counter("hub_bus_gap_closes_total") == 1)
                    #expect(b.metrics.counter("hub_bus_interruptions_total") == 1)
                    // The observer saw each event once: e1, those recovered for the exact
                    // subscription, the live ones; and was told of the interruption.
                    try await recorder.wait(for: 7) { $0.event != nil }
                    #expect(recorder.seen.compactMap(\.event) == e1 + missed + freshEvents + live)
                    #expect(recorder.seen.filter { $0.event == nil } == [.interrupted, .resumed])
                }
            }
        }
    }

    // MARK: - Subscriptions

    @Test("the node is subscribed to exactly the channels its sessions need (reference counted)")
    func referenceCounting() async throws {
        try await withRedisServer { server in
            try await withAdmin(server) { admin in
                try await withRedisNode(server) { node in
                    let keys = node.bus.keys
                    let one = try node.session()
                    let two = try node.session("bob")
                    _ = try await subscribe(node, one, [progress, "application:app_1:status", "operation:*:progress"])
                    _ = try await subscribe(node, two, [progress])
                    await node.bus.subscriptionsSettled()
                    let both = [keys.channel(key(progress)), keys.channel(key("application:app_1:status"))]
                    #expect(try await admin.subscribedChannels() == Set(both))
                    #expect(try await admin.patternCount() == 1)
                    #expect(node.bus.subscribedNames.channels == Set(both))
                    #expect(node.bus.subscribedNames.patterns == [keys.pattern(key("operation:*:progress"))])

                    _ = node.core.unsubscribe(one, .init(topics: [progress, "operation:*:progress"]))
                    await node.bus.subscriptionsSettled()
                    #expect(try await admin.subscribedChannels() == Set(both))
                    #expect(try await admin.patternCount() == 0)

                    node.core.detach(two)
                    await node.bus.subscriptionsSettled()
                    #expect(try await admin.subscribedChannels() == [keys.channel(key("application:app_1:status"))])
                    node.core.detach(one)
                    await node.bus.subscriptionsSettled()
                    #expect(try await admin.subscribedChannels() == [])
                    #expect(node.bus.subscribedNames.channels.isEmpty)
                }
            }
        }
    }

    @Test("concurrent attach and detach on the same keys settle on exactly the keys still referenced")
    func concurrentAttachDetach() async throws {
        try await withRedisServer { server in
            try await withAdmin(server) { admin in
                try await withRedisNode(server) { node in
                    let exact = (0..<5).map { key("operation:op_\($0):progress") }
                    let patterns = [key("operation:*:progress"), key("application:*:status")]
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for task in 0..<40 {
                            group.addTask {
                                let mine = [exact[task % 5], patterns[task % 2]]
                                for _ in 0..<10 {
                                    try await node.bus.attach(mine)
                                    await Task.yield()
                                    node.bus.detach(mine)
                                }
                                // Tasks 0, 1 and 2 keep one reference on their exact key.
                                if task < 3 { try await node.bus.attach([exact[task]]) }
                            }
                        }
                        try await group.waitForAll()
                    }
                    await node.bus.subscriptionsSettled()
                    let expected = Set(exact[0..<3].map(node.bus.keys.channel))
                    #expect(try await admin.subscribedChannels() == expected)
                    #expect(try await admin.patternCount() == 0)
                    #expect(node.bus.subscribedNames.channels == expected)
                }
            }
        }
    }

    // MARK: - Incoming messages

    @Test("malformed messages are counted and dropped; the next event goes through")
    func malformedMessages() async throws {
        try await withRedisServer { server in
            try await withAdmin(server) { admin in
                try await withRedisNode(server) { node in
                    let session = try node.session()
                    _ = try await subscribe(node, session, [progress])
                    let channel = node.bus.keys.channel(key(progress))
                    let otherTenant = "r1:1-0 " + String(decoding: RedisEventCodec.encode(draft(progress, tenant: "globex")), as: UTF8.self)
                    for payload in ["nonsense", "r1:1-0 {not json", "e1:1 {}", otherTenant] {
                        _ = try await admin.send(["PUBLISH", .string(channel), .string(payload)])
                    }
                    let events = try await publish(node, progress, count: 1)
                    #expect(try await nextFrames(session) == frames(events))
                    #expect(node.metrics.counter("hub_bus_malformed_messages_total") == 4)
                }
            }
        }
    }

    @Test("an observer sees every event of a topic family in every tenant, without sessions")
    func observer() async throws {
        try await withRedisServer { server in
            try await withAdmin(server) { admin in
                try await withRedisNodes(server) { a, b in
                    let recorder = ObservationRecorder()
                    let token = try await b.bus.observe(topic("operation:*:progress"), recorder.handler)
                    let one = try await a.bus.publish([draft(progress), draft("application:app_1:status"), draft("operation:op_2:progress", tenant: "globex")])
                    try await recorder.wait(for: 2) { $0.event != nil }
                    #expect(recorder.seen.compactMap(\.event) == [one[0], one[2]])
                    b.bus.stopObserving(token)
                    await b.bus.subscriptionsSettled()
                    #expect(try await admin.patternCount() == 0)
                }
            }
        }
    }

    @Test("keys: the tenant is a percent-encoded hash tag; patterns escape nothing else")
    func keySpace() throws {
        let keys = try RedisKeySpace()
        #expect(keys.stream(key(progress)) == "hub:{acme}:history:operation:op_1:progress")
        #expect(keys.meta(key(progress)) == "hub:{acme}:topic:operation:op_1:progress")
        #expect(keys.channel(key(progress)) == "hub:{acme}:events:operation:op_1:progress")
        #expect(keys.pattern(key("operation:*:progress")) == "hub:{acme}:events:operation:*:progress")
        #expect(keys.entity(EntityRef(family: "application", id: "app_1"), tenant: "acme") == "hub:{acme}:entity:application:app_1")
        #expect(keys.observerPattern(topic("operation:*:progress")) == "hub:{*}:events:operation:*:progress")
        #expect(keys.channel(key(progress, tenant: "a}b*c:d")) == "hub:{a%7Db%2Ac%3Ad}:events:operation:op_1:progress")
        #expect(throws: HubError.self) { try RedisKeySpace(prefix: "hub{x}") }
        #expect(throws: HubError.self) { try RedisKeySpace(prefix: "") }
    }
}
