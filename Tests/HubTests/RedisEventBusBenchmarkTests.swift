import Foundation
import HubTesting
import Protocol
import Testing

@testable import Hub

/// Publish throughput through the Lua script, for the record (no timed
/// assertion). Run with `HUB_BUS_BENCH=1 swift test --filter RedisEventBusBenchmark`.
@Suite("RedisEventBus benchmark", .enabled(if: ProcessInfo.processInfo.environment["HUB_BUS_BENCH"] != nil))
struct RedisEventBusBenchmarkTests {
    @Test("publish throughput")
    func throughput() async throws {
        try await withRedisServer { server in
            var options = RedisNodeOptions()
            options.historyLength = 256
            try await withRedisNode(server, options: options) { node in
                let data: JSONValue = ["operation_id": "op_1", "progress": 42, "message": "Setting up database connections"]
                for (tasks, batch, total) in [(1, 1, 3_000), (8, 1, 8_000), (8, 20, 40_000), (32, 1, 16_000)] {
                    let perTask = total / tasks / batch
                    let start = ContinuousClock.now
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for task in 0..<tasks {
                            group.addTask {
                                let drafts = (0..<batch).map { _ in
                                    EventDraft(tenant: "acme", topic: topic("operation:op_\(task % 16):progress"), event: "progress_updated", data: data)
                                }
                                for _ in 0..<perTask { _ = try await node.bus.publish(drafts) }
                            }
                        }
                        try await group.waitForAll()
                    }
                    let elapsed = ContinuousClock.now - start
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    let events = tasks * perTask * batch
                    print("publish: \(tasks) task(s), \(batch) event(s) per call: \(events) events in \(String(format: "%.2f", seconds)) s = \(Int(Double(events) / seconds)) events/s")
                }
            }
        }
    }
}
