import Foundation
import HubTesting
import Logging
import NIOCore
import Protocol
import Redis
import Synchronization
import Testing

@testable import Hub

/// A logger that drops everything (tests never bootstrap logging).
let busTestLogger = Logger(label: "hub-test") { _ in SwiftLogNoOpLogHandler() }

extension RedisServer {
    /// The test configuration (``configuration(_:)``) with a client name.
    func redisConfiguration(clientName: String? = nil) throws -> RedisConfiguration {
        try configuration { $0.clientName = clientName }
    }

    /// Sends one command on a connection of its own (an "admin" connection,
    /// outside every node) and returns the reply.
    func command(_ command: RedisCommand) async throws -> RESPValue {
        let connection = try await RedisConnection.connect(configuration: try redisConfiguration(clientName: "admin"), logger: busTestLogger)
        let result: Result<RESPValue, any Error>
        do {
            result = .success(try await connection.send(command))
        } catch {
            result = .failure(error)
        }
        await connection.close()
        return try result.get()
    }
}

/// One hub node on a shared Redis: its own client, subscriber, bus,
/// Distributor and RealtimeCore, as the Gateway assembles them.
struct RedisNode: Sendable {
    let name: String
    let client: RedisClient
    let bus: RedisEventBus
    let core: RealtimeCore
    let metrics: RecordingMetrics

    /// A session of this node for `subject` in `tenant`.
    func session(_ subject: String = "alice", tenant: String = "acme", roles: [RoleGrant] = [RoleGrant(role: "admin")]) throws -> Session {
        try core.registry.register(identity(subject, tenant: tenant, roles: roles))
    }
}

/// Options of a test node.
struct RedisNodeOptions: Sendable {
    var historyLength = 64
    var subscribeTimeout: Duration = .seconds(10)
    var sendQueueLength = 1_024
}

/// Runs a node (client, subscriber and bus as services) while `body` runs,
/// then cancels them and waits for them to end. Returns once the subscriber
/// is connected (an attach was confirmed).
func withRedisNode<T: Sendable>(
    _ server: RedisServer, name: String = "node-a", options: RedisNodeOptions = RedisNodeOptions(),
    _ body: @Sendable (RedisNode) async throws -> T
) async throws -> T {
    let metrics = RecordingMetrics()
    let hubMetrics = metrics.hubMetrics
    let client = try RedisClient(configuration: try server.redisConfiguration(clientName: "\(name)-client"), logger: busTestLogger)
    let distributor = Distributor(index: SubscriptionIndex(), metrics: hubMetrics)
    let subscriberConfiguration = try server.redisConfiguration(clientName: "\(name)-subscriber")
    let bus = try RedisEventBus(
        client: client, distributor: distributor,
        configuration: RedisEventBusConfiguration(
            nodeID: name, historyLength: options.historyLength, subscribeTimeout: options.subscribeTimeout),
        metrics: hubMetrics, logger: busTestLogger
    ) { onEvent in
        try RedisSubscriber(configuration: subscriberConfiguration, healthCheckInterval: nil, logger: busTestLogger, onEvent: onEvent)
    }
    var limits = HubLimits()
    limits.historyLength = options.historyLength
    limits.sendQueueLength = options.sendQueueLength
    let core = RealtimeCore(bus: bus, distributor: distributor, access: AccessControl(), limits: limits, metrics: hubMetrics)
    let node = RedisNode(name: name, client: client, bus: bus, core: core, metrics: metrics)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.run() }
        group.addTask { try await bus.subscriber.run() }
        group.addTask { try await bus.run() }
        let result: Result<T, any Error>
        do {
            try await HubTests.withTimeout(10) {
                try await client.waitForConnection()
                let probe = TopicKey(tenant: "probe", topic: topic("probe:\(name):ready"))
                try await bus.attach([probe])
                bus.detach([probe])
                await bus.subscriptionsSettled()
            }
            result = .success(try await body(node))
        } catch {
            result = .failure(error)
        }
        group.cancelAll()
        try await group.waitForAll()
        return try result.get()
    }
}

/// Two nodes on one Redis.
func withRedisNodes<T: Sendable>(
    _ server: RedisServer, options: RedisNodeOptions = RedisNodeOptions(), _ body: @Sendable (RedisNode, RedisNode) async throws -> T
) async throws -> T {
    try await withRedisNode(server, name: "node-a", options: options) { a in
        try await withRedisNode(server, name: "node-b", options: options) { b in
            try await body(a, b)
        }
    }
}

/// Records what an observer sees, and lets a test await it.
final class ObservationRecorder: Sendable {
    private struct State {
        var seen: [BusObservation] = []
        var waiters: [(count: Int, predicate: @Sendable (BusObservation) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    var handler: @Sendable (BusObservation) -> Void {
        { [self] observation in record(observation) }
    }

    var seen: [BusObservation] { state.withLock { $0.seen } }

    func record(_ observation: BusObservation) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.seen.append(observation)
            var ready: [CheckedContinuation<Void, Never>] = []
            state.waiters.removeAll { waiter in
                guard state.seen.filter(waiter.predicate).count >= waiter.count else { return false }
                ready.append(waiter.continuation)
                return true
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// Waits (with a timeout that fails the test) until `count` observations satisfy `predicate`.
    func wait(
        for count: Int = 1, timeout: Double = 10, sourceLocation: SourceLocation = #_sourceLocation,
        where predicate: @escaping @Sendable (BusObservation) -> Bool
    ) async throws {
        try await HubTests.withTimeout(timeout, sourceLocation: sourceLocation) {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = self.state.withLock { state -> Bool in
                    if state.seen.filter(predicate).count >= count { return true }
                    state.waiters.append((count, predicate, continuation))
                    return false
                }
                if done { continuation.resume() }
            }
        }
    }
}

extension BusObservation {
    var event: Event? {
        if case .event(let event) = self { return event }
        return nil
    }
}
