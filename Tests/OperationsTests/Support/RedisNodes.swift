import Foundation
import HubTesting
@testable import Operations
import Redis

/// One hub node of a multi-node test: its own Redis client (pool), store,
/// event sink, clock and operations service, sharing the Redis (and key
/// prefix) of the other nodes.
struct RedisNode: Sendable {
    let client: RedisClient
    let store: RedisOperationStore
    let sink: RecordingEventSink
    let clock: ManualClock
    let service: OperationService
}

/// Starts a redis-server of its own, runs `count` nodes on it while `body`
/// runs, then stops everything (clients cancelled and awaited, server stopped).
func withRedisNodes<T: Sendable>(
    _ count: Int, keyPrefix: String = "hub:ops", wrap: @escaping @Sendable (RedisOperationStore) -> any OperationStore = { $0 },
    settings configure: @escaping @Sendable (inout OperationSettings) -> Void = { _ in },
    _ body: @Sendable (RedisServer, [RedisNode]) async throws -> T
) async throws -> T {
    try await withRedisServer { server in
        let configuration = try server.configuration()
        let clients = try (0..<count).map { _ in try RedisClient(configuration: configuration, logger: Fixtures.logger) }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { try await client.run() } }
            let result: Result<T, any Error>
            do {
                var nodes: [RedisNode] = []
                for client in clients {
                    try await withTimeout(10, "a node's client to connect") { try await client.waitForConnection() }
                    let store = try RedisOperationStore(client: client, keyPrefix: keyPrefix)
                    let sink = RecordingEventSink()
                    let clock = ManualClock(now: Fixtures.t0)
                    nodes.append(
                        RedisNode(
                            client: client, store: store, sink: sink, clock: clock,
                            service: Fixtures.service(store: wrap(store), sink: sink, clock: clock, configure: configure)))
                }
                result = .success(try await body(server, nodes))
            } catch {
                result = .failure(error)
            }
            group.cancelAll()
            try await group.waitForAll()
            return try result.get()
        }
    }
}

/// Runs `node`'s change listener while `body` runs (subscribed first).
func withChangeListener<T: Sendable>(
    _ server: RedisServer, _ node: RedisNode, backoff: RedisBackoff? = nil,
    _ body: @Sendable (RedisOperationChangeListener) async throws -> T
) async throws -> T {
    let configuration = try server.configuration { configuration in
        if let backoff { configuration.reconnectBackoff = backoff }
    }
    let listener = try RedisOperationChangeListener(
        store: node.store, operations: node.service, configuration: configuration, healthCheckInterval: nil, logger: Fixtures.logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await listener.run() }
        let result: Result<T, any Error>
        do {
            try await withTimeout(10, "the change listener to subscribe") { await listener.waitUntilListening() }
            result = .success(try await body(listener))
        } catch {
            result = .failure(error)
        }
        group.cancelAll()
        try await group.waitForAll()
        return try result.get()
    }
}
