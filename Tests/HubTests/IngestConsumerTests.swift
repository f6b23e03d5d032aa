import Foundation
import HubTesting
import NIOCore
import Protocol
import Redis
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@testable import Hub

@Suite("IngestConsumer")
struct IngestConsumerTests {
    let progress = "operation:op_1:progress"

    func configuration(_ consumer: String, leaseDuration: Duration = .seconds(5)) -> IngestConsumerConfiguration {
        IngestConsumerConfiguration(
            consumer: consumer, batchSize: 16, block: .milliseconds(100), leaseDuration: leaseDuration,
            standbyPoll: .milliseconds(20), retryDelay: .milliseconds(50))
    }

    /// Runs consumers on `node` while `body` runs, then cancels them.
    func withConsumers<T: Sendable>(
        _ server: RedisServer, _ consumers: [(RedisNode, IngestConsumerConfiguration)], _ body: @Sendable () async throws -> T
    ) async throws -> T {
        let services = try consumers.map { node, configuration in
            IngestConsumer(
                configuration: configuration, redis: try server.redisConfiguration(clientName: "\(configuration.consumer)-ingest"),
                bus: node.bus, metrics: node.metrics.hubMetrics, logger: busTestLogger)
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services { group.addTask { try await service.run() } }
            let result: Result<T, any Error>
            do {
                result = .success(try await body())
            } catch {
                result = .failure(error)
            }
            group.cancelAll()
            try await group.waitForAll()
            return try result.get()
        }
    }

    /// `XADD hub:ingest * event <json>`; returns the entry id.
    @discardableResult
    func ingest(_ admin: RedisConnection, _ payload: String, field: String = "event") async throws -> String {
        try #require(try await admin.send(["XADD", "hub:ingest", "*", .string(field), .string(payload)]).string)
    }

    func entry(_ topicText: String = "operation:op_1:progress", tenant: String = "acme", n: Int, team: String? = nil) -> String {
        let teamPart = team.map { #","team_id":"\#($0)""# } ?? ""
        return #"{"tenant":"\#(tenant)","topic":"\#(topicText)","event":"progress_updated","data":{"n":\#(n)}\#(teamPart)}"#
    }

    /// How many `EVALSHA` calls the server has run.
    func scriptCalls(_ admin: RedisConnection) async throws -> Int {
        let info = try #require(try await admin.send(["INFO", "commandstats"]).string)
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_evalsha:calls=") }) else { return 0 }
        return Int(line.dropFirst("cmdstat_evalsha:calls=".count).prefix { $0.isNumber }) ?? 0
    }

    func pendingCount(_ admin: RedisConnection) async throws -> Int64 {
        try #require(try await admin.send(["XPENDING", "hub:ingest", "hub"]).array?.first?.integer)
    }

    @Test("two consumers: every entry published once, in stream order, acknowledged, with the entry's time and team")
    func eachEntryOnce() async throws {
        try await withRedisServer { server in
            try await withAdmin(server) { admin in
                try await withRedisNodes(server) { a, b in
                    let count = 120
                    let session = try a.session()
                    _ = try await a.core.subscribe(session, .init(id: "s", topics: [progress]))
                    _ = try await nextFrames(session)
                    // Written while no hub reads the stream: kept for when one comes.
                    for n in 0..<40 { try await ingest(admin, entry(n: n, team: "ops")) }
                    try await withConsumers(server, [(a, configuration("node-a")), (b, configuration("node-b"))]) {
                        for n in 40..<count { try await ingest(admin, entry(n: n, team: "ops")) }
                        let frames = try await collectFrames(session, count: count, timeout: 30)
                        let numbers = try frames.map { try json($0)["data"]?["n"]?.doubleValue.map(Int.init) }
                        #expect(numbers == (0..<count).map { Optional($0) }, "one reader at a time: stream order")
                        let offsets = try frames.map { try #require(try frameOffset($0)) }
                        #expect(zip(offsets, offsets.dropFirst()).allSatisfy { $1.isAfter($0) == true })
                    }
                    #expect(try await pendingCount(admin) == 0)
                    let published = a.metrics.counter("hub_ingest_published_total") + b.metrics.counter("hub_ingest_published_total")
                    #expect(published == Int64(count))
                    #expect(a.metrics.counter("hub_ingest_duplicates_total") + b.metrics.counter("hub_ingest_duplicates_total") == 0)
                    #expect(try await a.bus.entity(EntityRef(family: "operation", id: "op_1"), tenant: "acme")?.teamID == "ops")
                    let page = try await a.bus.history(key(progress), after: nil, limit: 1)
                    let timestamp = try #require(page.events.first?.timestamp.timeIntervalSince1970)
                    #expect(abs(timestamp - Date().timeIntervalSince1970) < 3600)
                }
            }
        }
    }

    @Test("the pending entries of a dead consumer are claimed and published by a live one")
    func deadConsumerClaimed() async throws {
        try await withRedisServer { server in
            try await withAdmin(server) { admin in
                try await withRedisNode(server) { node in
                    _ = try await admin.send(["XGROUP", "CREATE", "hub:ingest", "hub", "0", "MKSTREAM"])
                    for n in 0..<5 { try await ingest(admin, entry(n: n)) }
                    // A consumer reads them and dies before acknowledging.
                    let read = try await admin.send(["XREADGROUP", "GROUP", "hub", "dead", "COUNT", "10", "STREAMS", "hub:ingest", ">"])
                    #expect(read.array?.first?.array?.last?.array?.count == 5)
                    #expect(try await pendingCount(admin) == 5)

                    let session = try node.session()
                    _ = try await node.core.subscribe(session, .init(id: "s", topics: [progress]))
                    _ = try await nextFrames(session)
                    try await withConsumers(server, [(node, configuration("live"))]) {
                        let frames = try await collectFrames(session, count: 5)
                        #expect(try frames.map { try json($0)["data"]?["n"]?.doubleValue } == [0, 1, 2, 3, 4])
                    }
                    #expect(try await pendingCount(admin) == 0)
                    #expect(node.metrics.counter("hub_ingest_claimed_total") == 5)
                    #expect(node.metrics.counter("hub_ingest_published_total") == 5)
                }
            }
        }
    }

    @Test("a node waits while another holds the lease, then takes over and claims what the old leader left, in order")
    func leaseTakeover() async throws {
        try await withRedisServer { server in
            try await withAdmin(server) { admin in
                try await withRedisNode(server) { node in
                    _ = try await admin.send(["XGROUP", "CREATE", "hub:ingest", "hub", "0", "MKSTREAM"])
                    for n in 0..<3 { try await ingest(admin, entry(n: n)) }
                    // The old leader read three entries and died holding the lease.
                    _ = try await admin.send(["XREADGROUP", "GROUP", "hub", "old", "COUNT", "3", "STREAMS", "hub:ingest", ">"])
                    _ = try await admin.send(["SET", "hub:ingest:lease", "old", "PX", "60000"])
                    for n in 3..<6 { try await ingest(admin, entry(n: n)) }
                    let session = try node.session()
                    _ = try await node.core.subscribe(session, .init(id: "s", topics: [progress]))
                    _ = try await nextFrames(session)
                    try await withConsumers(server, [(node, configuration("new"))]) {
                        // While "old" holds the lease, "new" only polls it (a script call
                        // each time): after several polls nothing has been read.
                        try await HubTests.withTimeout(10) {
                            while try await admin.send(["CLIENT", "LIST"]).string?.contains("name=new-ingest") != true { await Task.yield() }
                        }
                        let before = try await scriptCalls(admin)
                        try await HubTests.withTimeout(10) {
                            while try await scriptCalls(admin) < before + 3 { await Task.yield() }
                        }
                        #expect(try await admin.send(["XINFO", "CONSUMERS", "hub:ingest", "hub"]).array?.count == 1)
                        #expect(try await pendingCount(admin) == 3)
                        // The lease runs out: "new" takes it, claims 0…2, then reads 3…5.
                        _ = try await admin.send(["PEXPIRE", "hub:ingest:lease", "1"])
                        let frames = try await collectFrames(session, count: 6)
                        #expect(try frames.map { try json($0)["data"]?["n"]?.doubleValue } == [0, 1, 2, 3, 4, 5])
                        #expect(try await admin.send(["GET", "hub:ingest:lease"]).string == "new")
                    }
                    #expect(try await pendingCount(admin) == 0)
                    #expect(node.metrics.counter("hub_ingest_claimed_total") == 3)
                    // Stopping gave the lease up.
                    #expect(try await admin.send(["EXISTS", "hub:ingest:lease"]).integer == 0)
                }
            }
        }
    }

    @Test("malformed entries are acknowledged, counted and copied to hub:ingest:dead with the reason")
    func malformedEntries() async throws {
        try await withRedisServer { server in
            try await withAdmin(server) { admin in
                try await withRedisNode(server) { node in
                    let bad: [(field: String, payload: String, reason: String)] = [
                        ("data", entry(n: 1), "the entry has no field event"),
                        ("event", "{not json", "event is not a JSON object"),
                        ("event", "[1,2]", "event is not a JSON object"),
                        ("event", #"{"topic":"operation:op_1:progress","event":"x"}"#, "tenant must be a non-empty string of at most 255 bytes"),
                        ("event", #"{"tenant":"acme","topic":"bad topic","event":"x"}"#, "invalid topic: topic segments may contain only A-Z a-z 0-9 _ . - (or be exactly *)"),
                        ("event", #"{"tenant":"acme","topic":"operation:*:progress","event":"x"}"#, "cannot publish to a wildcard topic"),
                        ("event", #"{"tenant":"acme","topic":"operation:op_1:progress","event":"bad name!"}"#, "event must be 1–64 characters of A-Z a-z 0-9 _ . -"),
                        ("event", #"{"tenant":"acme","topic":"operation:op_1:progress","event":"x","team_id":"a:b"}"#, "team_id must be one topic segment"),
                    ]
                    var ids: [String] = []
                    for item in bad { ids.append(try await ingest(admin, item.payload, field: item.field)) }
                    try await ingest(admin, entry(n: 99))
                    let session = try node.session()
                    _ = try await node.core.subscribe(session, .init(id: "s", topics: [progress]))
                    _ = try await nextFrames(session)
                    try await withConsumers(server, [(node, configuration("node-a"))]) {
                        // One consumer handles entries in order: the good one comes last.
                        let frames = try await collectFrames(session, count: 1)
                        #expect(try json(frames[0])["data"]?["n"]?.doubleValue == 99)
                    }
                    #expect(node.metrics.counter("hub_ingest_malformed_total") == Int64(bad.count))
                    #expect(try await pendingCount(admin) == 0)
                    let dead = try #require(try await admin.send(["XRANGE", "hub:ingest:dead", "-", "+"]).array)
                    #expect(dead.count == bad.count)
                    for (index, item) in dead.enumerated() {
                        let flat = try #require(item.array?.last?.array)
                        var fields: [String: String] = [:]
                        for pair in stride(from: 0, to: flat.count - 1, by: 2) {
                            fields[flat[pair].string ?? ""] = flat[pair + 1].string
                        }
                        #expect(fields["id"] == ids[index])
                        #expect(fields["reason"] == bad[index].reason)
                        #expect(fields["consumer"] == "node-a")
                        #expect(fields["event"] == (bad[index].field == "event" ? bad[index].payload : ""))
                    }
                }
            }
        }
    }

    @Test("the reader trims what every consumer group has acknowledged, and nothing another group still needs")
    func trimsAcknowledgedEntries() async throws {
        try await withRedisServer { server in
            try await withAdmin(server) { admin in
                try await withRedisNode(server) { node in
                    var written: [String] = []
                    for n in 0..<10 { written.append(try await ingest(admin, entry(n: n))) }
                    let ids = written
                    // Another reader's group: it has read four entries and acknowledged two.
                    _ = try await admin.send(["XGROUP", "CREATE", "hub:ingest", "audit", "0"])
                    _ = try await admin.send(["XREADGROUP", "GROUP", "audit", "r", "COUNT", 4, "STREAMS", "hub:ingest", ">"])
                    _ = try await admin.send(["XACK", "hub:ingest", "audit", .string(ids[0]), .string(ids[1])])
                    let session = try node.session()
                    _ = try await node.core.subscribe(session, .init(id: "s", topics: [progress]))
                    _ = try await nextFrames(session)
                    try await withConsumers(server, [(node, configuration("node-a"))]) {
                        _ = try await collectFrames(session, count: 10)
                        // The hub's group is done with all ten; audit still needs its pending third entry.
                        try await waitForIngestLength(admin, 8, trimmed: 2, node)
                        let first = try await admin.send(["XRANGE", "hub:ingest", "-", "+", "COUNT", 1])
                        #expect(first.array?.first?.array?.first?.string == ids[2])
                        // Audit catches up; the next batch trims to the last entry both have read.
                        _ = try await admin.send(["XREADGROUP", "GROUP", "audit", "r", "STREAMS", "hub:ingest", ">"])
                        _ = try await admin.send(RedisCommand(["XACK", "hub:ingest", "audit"] + ids[2...].map { RedisArgument.string($0) }))
                        let last = try await ingest(admin, entry(n: 10))
                        _ = try await collectFrames(session, count: 1)
                        try await waitForIngestLength(admin, 2, trimmed: 9, node)
                        let kept = try #require(try await admin.send(["XRANGE", "hub:ingest", "-", "+"]).array)
                        #expect(kept.compactMap { $0.array?.first?.string } == [ids[9], last])
                    }
                    #expect(try await pendingCount(admin) == 0)
                }
            }
        }
    }

    @Test("with trimming off the stream keeps every entry")
    func trimmingOff() async throws {
        try await withRedisServer { server in
            try await withAdmin(server) { admin in
                try await withRedisNode(server) { node in
                    for n in 0..<5 { try await ingest(admin, entry(n: n)) }
                    let session = try node.session()
                    _ = try await node.core.subscribe(session, .init(id: "s", topics: [progress]))
                    _ = try await nextFrames(session)
                    var untrimmed = configuration("node-a")
                    untrimmed.trimAcknowledged = false
                    try await withConsumers(server, [(node, untrimmed)]) {
                        _ = try await collectFrames(session, count: 5)
                        // A second batch after the first: a trim would have followed the first one.
                        try await ingest(admin, entry(n: 5))
                        _ = try await collectFrames(session, count: 1)
                    }
                    #expect(try await admin.send(["XLEN", "hub:ingest"]).integer == 6)
                    #expect(node.metrics.counter("hub_ingest_trimmed_total") == 0)
                }
            }
        }
    }

    /// Waits until `hub:ingest` holds `length` entries and `node` counted `trimmed` in all.
    func waitForIngestLength(_ admin: RedisConnection, _ length: Int64, trimmed: Int64, _ node: RedisNode) async throws {
        try await withTimeout(10, "hub:ingest to be trimmed to \(length) entries") {
            while try await admin.send(["XLEN", "hub:ingest"]).integer != length
                || node.metrics.counter("hub_ingest_trimmed_total") != trimmed
            {
                await Task.yield()
            }
        }
    }

    @Test("publishing an entry acknowledges it in the same script: a second attempt publishes nothing")
    func publishAcknowledgesOnce() async throws {
        try await withRedisServer { server in
            try await withAdmin(server) { admin in
                try await withRedisNode(server) { node in
                    _ = try await admin.send(["XGROUP", "CREATE", "hub:ingest", "hub", "0", "MKSTREAM"])
                    let id = try await ingest(admin, entry(n: 1))
                    _ = try await admin.send(["XREADGROUP", "GROUP", "hub", "someone", "STREAMS", "hub:ingest", ">"])
                    let ack = RedisTopicStore.Acknowledgement(stream: "hub:ingest", group: "hub", id: id)
                    let first = try await node.bus.publish(draft(progress), acknowledging: ack)
                    #expect(first != nil)
                    #expect(try await node.bus.publish(draft(progress), acknowledging: ack) == nil)
                    let page = try await node.bus.history(key(progress), after: nil, limit: 10)
                    #expect(page.events.map(\.offset) == [first?.offset])
                    #expect(try await pendingCount(admin) == 0)
                }
            }
        }
    }

    @Test("graceful shutdown: run() returns without throwing")
    func gracefulShutdown() async throws {
        try await withRedisServer { server in
            try await withRedisNode(server) { node in
                let consumer = IngestConsumer(
                    configuration: configuration("node-a"), redis: try server.redisConfiguration(), bus: node.bus,
                    metrics: node.metrics.hubMetrics, logger: busTestLogger)
                try await withAdmin(server) { admin in
                    try await testGracefulShutdown { trigger in
                        // Inherits the test's graceful-shutdown manager (a task local).
                        let running = Task { try await consumer.run() }
                        // The stream exists once the consumer has created its group: it is reading.
                        try await HubTests.withTimeout(10) {
                            while try await admin.send(["EXISTS", "hub:ingest"]).integer != 1 { await Task.yield() }
                        }
                        trigger.triggerGracefulShutdown()
                        try await HubTests.withTimeout(5) { try await running.value }
                    }
                }
            }
        }
    }
}
