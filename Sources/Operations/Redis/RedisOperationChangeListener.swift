import Logging
import NIOCore
import NIOPosix
import Redis
import ServiceLifecycle

/// Wakes this node's long-polls and log followers when any node changes an
/// operation: a `Service` holding one `RedisSubscriber` connection on the
/// store's `changeChannel`, which calls `OperationService.notifyChanged(_:)`
/// for each `RedisOperationChange`. Waking is a resumed continuation; nothing polls.
///
/// - Messages missed while the subscription was down (between
///   `.disconnected` and `.resubscribed`) cannot be known, so on every
///   (re)connection every waiter of this node is woken
///   (`notifyAllChanged()`): each re-reads its operation and waits again if
///   nothing changed.
/// - Cost: one fixed channel for every tenant, so each node receives every
///   change (about 60 bytes per change and node) and does one dictionary
///   look-up for it; a change on this node also wakes its own waiters twice
///   (once in-process, once from the message; the second re-read finds
///   nothing new and waits again).
///
/// Run it in the node's `ServiceGroup` next to the `RedisClient`; it stops
/// at graceful shutdown.
public final class RedisOperationChangeListener: Service, Sendable {
    public let channel: String
    let subscriber: RedisSubscriber
    let logger: Logger
    private let gate: ListeningGate

    /// - Parameters:
    ///   - store: the store whose changes to follow (its channel, and by default its client's server).
    ///   - operations: the service whose waiters to wake.
    ///   - configuration: the Redis to listen to; nil: the store's client's configuration.
    ///   - healthCheckInterval: how often the subscriber PINGs to detect a dead connection.
    public init(
        store: RedisOperationStore, operations: OperationService, configuration: RedisConfiguration? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, healthCheckInterval: Duration? = .seconds(15),
        logger: Logger
    ) throws(OperationError) {
        let configuration = configuration ?? store.client.configuration
        let gate = ListeningGate()
        channel = store.changeChannel
        self.logger = logger
        self.gate = gate
        do {
            subscriber = try RedisSubscriber(
                configuration: configuration, eventLoopGroup: eventLoopGroup, healthCheckInterval: healthCheckInterval, logger: logger
            ) { event in
                Self.handle(event, operations: operations, gate: gate, logger: logger)
            }
        } catch {
            throw RedisOperationStore.unavailable(error)
        }
    }

    /// Whether the subscription is confirmed right now.
    public var isListening: Bool { gate.isListening }

    /// Returns once the subscription is confirmed (at once when it is): from
    /// then on every change is seen. Waits however long; bound it with a timeout.
    public func waitUntilListening() async {
        await gate.waitUntilListening()
    }

    /// Subscribes and keeps the subscription until graceful shutdown or cancellation.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.subscriber.run() }
            do {
                try await subscriber.subscribe([channel])
                gate.subscribed()
            } catch {
                // The channel stays in the subscription set and is subscribed
                // when the connection comes up (`.connected` / `.resubscribed`),
                // or already was if that happened just now.
                gate.requested()
                if subscriber.isConnected { gate.subscribed() }
                logger.info("operation change channel not subscribed yet", metadata: ["redis.error": "\(error)"])
            }
            try await group.waitForAll()
        }
    }

    static func handle(_ event: RedisSubscriber.Event, operations: OperationService, gate: ListeningGate, logger: Logger) {
        switch event {
        case .message(let message):
            guard let change = RedisOperationChange(payload: message.payload) else {
                logger.warning("unreadable operation change message", metadata: ["redis.channel": "\(message.channel)"])
                return
            }
            operations.notifyChanged(change.ref)
        case .connected, .resubscribed:
            gate.connected()
            operations.notifyAllChanged()
        case .disconnected(let error):
            gate.disconnected()
            logger.info("operation change channel lost; waiters are woken when it is back", metadata: ["redis.error": "\(error)"])
        }
    }
}
