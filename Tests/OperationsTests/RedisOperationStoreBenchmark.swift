import Foundation
import HubTesting
@testable import Operations
import Protocol
import Redis
import Testing

/// Rough throughput of the Redis store against a local redis-server, printed
/// (never asserted). Runs only with `OPERATIONS_REDIS_BENCH=1`:
/// `OPERATIONS_REDIS_BENCH=1 swift test --skip-build --filter RedisOperationStoreBenchmark`.
@Suite(
    "Redis operation store benchmark",
    .enabled(if: ProcessInfo.processInfo.environment["OPERATIONS_REDIS_BENCH"] != nil), .serialized)
struct RedisOperationStoreBenchmark {
    static let concurrency = 32

    @Test func createPatchGetList() async throws {
        try await withRedisNodes(1) { _, nodes in
            let node = nodes[0]
            let service = node.service
            let count = 4_000
            try await node.store.loadScripts()
            _ = try await node.client.send(["CONFIG", "RESETSTAT"])
            try await Self.measure("create (service.create: claim-less insert script)", count) { index in
                _ = try await service.create(Fixtures.newDeploy(team: "t\(index % 4)", app: "app_\(index % 100)"), tenant: "acme", createdBy: "alice")
            }
            print("    (server: \(try await Self.serverCost(node.client)))")
            let shared = try await node.store.scan(after: nil, limit: count).map(\.ref)
            try await Self.measure("get, one at a time", 1_000, concurrency: 1) { index in
                _ = try await service.operation(shared[index])
            }
            try await Self.measure("create, one at a time", 1_000, concurrency: 1) { _ in
                _ = try await service.create(Fixtures.newDeploy(), tenant: "other", createdBy: "alice")
            }
            _ = try await node.client.send(["CONFIG", "RESETSTAT"])
            try await Self.measure("patch (service.update: read + replace script)", count) { index in
                _ = try await service.update(shared[index], OperationUpdate(status: .inProgress))
            }
            print("    (server: \(try await Self.serverCost(node.client)))")
            _ = try await node.client.send(["CONFIG", "RESETSTAT"])
            try await Self.measure("get (service.operation: HMGET)", count) { index in
                _ = try await service.operation(shared[index])
            }
            print("    (server: \(try await Self.serverCost(node.client)))")
            _ = try await node.client.send(["CONFIG", "RESETSTAT"])
            try await Self.measure("log append (service.appendLogs, 5 lines)", count) { index in
                _ = try await service.appendLogs(shared[index], (0..<5).map { "line \($0)" })
            }
            print("    (server: \(try await Self.serverCost(node.client)))")
            let queries: [(String, OperationQuery)] = [
                ("list newest 50 (all index)", OperationQuery(tenant: "acme")),
                ("list one filter (team)", OperationQuery(tenant: "acme", teamID: "t1")),
                ("list two filters (team + target)", OperationQuery(tenant: "acme", targetID: "app_7", teamID: "t3")),
                ("list status union + visible teams", OperationQuery(tenant: "acme", statuses: [.pending, .inProgress], visibleTeams: ["t0", "t1"])),
                ("list page 40 of the all index", OperationQuery(tenant: "acme", page: 40)),
            ]
            for (name, query) in queries {
                _ = try await node.client.send(["CONFIG", "RESETSTAT"])
                try await Self.measure(name, 1_000) { _ in _ = try await service.list(query) }
                print("    (server: \(try await Self.serverCost(node.client)))")
            }
        }
    }

    /// From node B's update returning to node A's long-poll answering.
    @Test func crossNodeWakeLatency() async throws {
        try await withRedisNodes(2) { server, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await withChangeListener(server, a) { _ in
                var samples: [Double] = []
                let clock = ContinuousClock()
                for _ in 0..<200 {
                    let op = try await b.service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
                    let waiter = Task { try await a.service.waitForChange(op.ref, from: op.version, seconds: 30) }
                    await a.clock.waitForSleepers(1)
                    _ = try await b.service.update(op.ref, OperationUpdate(status: .inProgress))
                    let start = clock.now
                    _ = try await withTimeout(10, "the wake-up") { try await waiter.value }
                    let elapsed = clock.now - start
                    samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                }
                samples.sort()
                print(String(format: "cross-node wake after the update returned: median %.2f ms, p99 %.2f ms, max %.2f ms",
                    samples[samples.count / 2], samples[samples.count * 99 / 100], samples.last!))
            }
        }
    }

    /// The alternative list design, read-only (no temporary keys): `ZINTERCARD`
    /// for the total and a walk of the smallest index with `ZSCORE` probes for
    /// the page. Compared with the shipped script on two large filters.
    @Test func listDesignsCompared() async throws {
        try await withRedisNodes(1) { _, nodes in
            let store = nodes[0].store
            let count = 20_000
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<Self.concurrency {
                    group.addTask {
                        for index in stride(from: worker, to: count, by: Self.concurrency) {
                            let op = Fixtures.operation(
                                id: "op_\(index)", type: index % 2 == 0 ? "deploy" : "backup",
                                target: OperationTarget(kind: "application", id: "app_\(index % 100)"), teamID: "t\(index % 3)",
                                createdAt: Fixtures.t0.addingTimeInterval(TimeInterval(index)))
                            try await store.insert(op, completing: nil)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let type = store.keys.index(tenant: "acme", "type", "deploy")
            let team = store.keys.index(tenant: "acme", "team", "t1")
            let target = store.keys.index(tenant: "acme", "tid", "app_7")
            for (name, keys) in [("large ∩ large (type + team)", [type, team]), ("large ∩ small (type + target)", [type, target])] {
                _ = try await store.send(["CONFIG", "RESETSTAT"])
                for _ in 0..<200 {
                    _ = try await store.run(
                        RedisOperationScripts.list, keys: keys, [.string("acme"), 0, 50] + keys.map { _ in RedisArgument.integer(1) })
                }
                print("list script, \(name): \(try await Self.serverCost(store.client))")
                _ = try await store.send(["CONFIG", "RESETSTAT"])
                for _ in 0..<200 {
                    _ = try await store.run(Self.readOnlyList, keys: keys, [.string("acme"), 0, 50])
                }
                print("read-only alternative, \(name): \(try await Self.serverCost(store.client))")
            }
        }
    }

    static let readOnlyList = RedisOperationScripts.script(
        #"""
        local t, offset, count = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
        local total = redis.call('ZINTERCARD', #KEYS, unpack(KEYS))
        local driver, size = KEYS[1], redis.call('ZCARD', KEYS[1])
        for i = 2, #KEYS do
          local n = redis.call('ZCARD', KEYS[i])
          if n < size then driver, size = KEYS[i], n end
        end
        local found, skipped, position = {}, 0, 0
        while #found < count and position < size do
          local chunk = redis.call('ZREVRANGE', driver, position, position + 99)
          position = position + 100
          for _, id in ipairs(chunk) do
            local match = true
            for _, key in ipairs(KEYS) do
              if key ~= driver and not redis.call('ZSCORE', key, id) then match = false break end
            end
            if match then
              if skipped < offset then skipped = skipped + 1 else found[#found + 1] = id end
              if #found == count then break end
            end
          end
        end
        local answer = {total}
        for _, id in ipairs(found) do
          local row = redis.call('HMGET', opKey(t, id), 'body', 'hb')
          answer[#answer + 1] = row[1]
          answer[#answer + 1] = row[2]
        end
        return answer
        """#)

    /// Runs `body(0..<count)` on `concurrency` tasks and prints the rate.
    @discardableResult
    static func measure(
        _ name: String, _ count: Int, concurrency: Int = concurrency, _ body: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for index in stride(from: worker, to: count, by: concurrency) { try await body(index) }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "%@: %d in %.2f s = %.0f/s (%d concurrent)", name, count, seconds, Double(count) / seconds, concurrency))
        return elapsed
    }

    /// `usec_per_call` of EVALSHA and HMGET since the last `CONFIG RESETSTAT` (then resets).
    static func serverCost(_ client: RedisClient) async throws -> String {
        let stats = try await client.send(["INFO", "commandstats"]).string ?? ""
        _ = try await client.send(["CONFIG", "RESETSTAT"])
        return stats.split(whereSeparator: \.isNewline)
            .filter { $0.hasPrefix("cmdstat_evalsha:") || $0.hasPrefix("cmdstat_hmget:") }
            .map { line in
                let fields = line.split(separator: ",").filter { $0.contains("calls=") || $0.contains("usec_per_call=") }
                return line.prefix { $0 != ":" }.dropFirst("cmdstat_".count) + " " + fields.joined(separator: " ")
            }
            .joined(separator: "; ")
    }
}
