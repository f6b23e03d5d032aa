import Foundation
import Hub
import Logging
import NIOCore
import NIOPosix
import Operations
import Redis
import ServiceLifecycle

/// The parts of a node that differ between the two deployments (ARCHITECTURE.md):
/// embedded (in-process bus, SQLite store) and distributed (`HUB_REDIS_URL`:
/// Redis event bus and operation store, the `hub:ingest` consumer). Built
/// without touching Redis: connections start when the services run.
struct NodeBackends: Sendable {
    enum Mode: String, Sendable {
        case embedded, distributed
    }

    let mode: Mode
    let core: RealtimeCore
    let operations: OperationService
    /// Run before the HTTP server and stopped after it: Redis connections, the
    /// bus's subscription pump, the change listener, the ingest consumer.
    let services: [any Service]
    /// Redis reachable right now (nil: embedded).
    let redisReady: (@Sendable () -> Bool)?
    /// A description of where state lives, for the start-up line.
    let summary: String

    static func make(
        configuration: HubConfiguration, access: AccessControl, metrics: HubMetrics, operationsClock: any OperationClock,
        serverLoops: any EventLoopGroup, logger: Logger
    ) async throws -> NodeBackends {
        guard let url = configuration.redisURL else {
            let distributor = Distributor(index: SubscriptionIndex(), metrics: metrics)
            let bus = LocalEventBus(
                distributor: distributor, historyLength: configuration.limits.historyLength, metrics: metrics,
                topicTTL: configuration.topicTTLSeconds.map { .seconds($0) })
            let core = RealtimeCore(bus: bus, distributor: distributor, access: access, limits: configuration.limits, metrics: metrics)
            let store = try SQLiteOperationStore(dataDirectory: configuration.dataDir)
            let operations = OperationService(
                store: store, events: BusOperationEventSink(bus: core.bus), clock: operationsClock,
                settings: configuration.operations, timerLoops: serverLoops, logger: logger)
            try await operations.restoreEntityDirectory()
            return NodeBackends(
                mode: .embedded, core: core, operations: operations,
                services: bus.topicTTL == nil ? [] : [TopicExpirySweeper(bus: bus)], redisReady: nil,
                summary: "embedded mode, data in \(configuration.dataDir)")
        }
        return try distributed(
            url: url, configuration: configuration, access: access, metrics: metrics, operationsClock: operationsClock,
            serverLoops: serverLoops, logger: logger)
    }

    private static func distributed(
        url: String, configuration: HubConfiguration, access: AccessControl, metrics: HubMetrics,
        operationsClock: any OperationClock, serverLoops: any EventLoopGroup, logger: Logger
    ) throws -> NodeBackends {
        var redis = try RedisConfiguration(url: url)
        redis.poolSize = configuration.redisPoolSize
        redis.clientName = "hub-\(configuration.nodeID)"
        // Redis I/O runs on a thread of its own: on the server's loops a reply
        // (a publish's, a history read's) would wait behind every fan-out task
        // queued there, and a busy node would publish at the pace of its fan-out.
        let redisLoops = EventLoopService(threads: 1)
        let client = try RedisClient(configuration: redis, eventLoopGroup: redisLoops.group, logger: logger)
        let distributor = Distributor(index: SubscriptionIndex(), metrics: metrics)
        let bus = try RedisEventBus(
            client: client, distributor: distributor,
            configuration: RedisEventBusConfiguration(
                nodeID: configuration.nodeID, historyLength: configuration.limits.historyLength,
                topicTTL: configuration.topicTTLSeconds.map { .seconds($0) }),
            metrics: metrics, logger: logger
        ) { onEvent in
            try RedisSubscriber(configuration: redis, eventLoopGroup: redisLoops.group, logger: logger, onEvent: onEvent)
        }
        let core = RealtimeCore(bus: bus, distributor: distributor, access: access, limits: configuration.limits, metrics: metrics)
        let store = try RedisOperationStore(
            client: client, writeLockTTL: .seconds(configuration.operations.writeLockTTLSeconds),
            writeLockWait: .seconds(configuration.operations.writeLockWaitSeconds))
        let operations = OperationService(
            store: store, events: BusOperationEventSink(bus: bus), clock: operationsClock, settings: configuration.operations,
            timerLoops: serverLoops, logger: logger)
        // Long-polls on this node wake when another node changes the operation.
        let listener = try RedisOperationChangeListener(
            store: store, operations: operations, configuration: redis, eventLoopGroup: redisLoops.group, logger: logger)
        let ingest = IngestConsumer(
            configuration: IngestConsumerConfiguration(consumer: configuration.nodeID, trimAcknowledged: configuration.ingestTrim), redis: redis,
            eventLoopGroup: redisLoops.group, bus: bus, metrics: metrics, logger: logger)
        return NodeBackends(
            mode: .distributed, core: core, operations: operations,
            services: [redisLoops, client, bus.subscriber, bus, listener, ingest],
            redisReady: { client.isConnected && bus.subscriber.isConnected },
            summary: "distributed mode, node \(configuration.nodeID), Redis \(redis.host):\(redis.port)")
    }
}
