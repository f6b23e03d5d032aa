import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A dedicated pub/sub connection that keeps its subscriptions across
/// reconnects; a swift-service-lifecycle `Service`.
///
/// Events reach `onEvent` one at a time, in the order they happened on the
/// connection. `onEvent` is awaited before the next value is read, so a slow
/// handler slows the socket down (Redis then buffers, and past its
/// `client-output-buffer-limit pubsub` it drops the connection, which
/// shows up here as `.disconnected` then `.resubscribed`). `onEvent` must
/// not wait for `subscribe`/`unsubscribe` of the same subscriber: their
/// confirmations are read by the loop that is waiting for `onEvent`.
///
/// Contract:
/// - ``subscribe(_:)``/``psubscribe(_:)`` return once Redis confirmed every
///   name: messages published after that are delivered. While Redis is known
///   to be down they fail fast with ``RedisError/Code/notConnected``, but the
///   names stay in the subscription set and are subscribed on reconnect.
///   Before the first connection they wait for it (up to the command timeout).
/// - ``unsubscribe(_:)``/``punsubscribe(_:)`` return once Redis confirmed;
///   no message of those names is delivered after that.
/// - After a lost connection the subscriber reconnects with backoff, sends
///   every subscription again and emits `.resubscribed` once all are
///   confirmed. Messages published between `.disconnected` and
///   `.resubscribed` may have been missed: recover them from elsewhere
///   (streams). Messages of channels confirmed early may arrive before
///   `.resubscribed`.
/// - A `PING` every `healthCheckInterval` detects a dead connection: when the
///   previous one is still unanswered, the connection is closed and redone.
public final class RedisSubscriber: Service, Sendable {
    public enum Event: Sendable, Hashable {
        case message(RedisPubSubMessage)
        /// The first connection is up and every subscription made so far is confirmed.
        case connected
        /// The connection was lost; messages may be missed until `.resubscribed`.
        case disconnected(RedisError)
        /// Reconnected, and every subscription is confirmed again.
        case resubscribed
    }

    public let configuration: RedisConfiguration
    let factory: RedisChannelFactory
    let logger: Logger
    let onEvent: @Sendable (Event) async -> Void
    let healthCheckInterval: Duration?
    let state = Mutex(RedisSubscriberStateMachine())

    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        healthCheckInterval: Duration? = .seconds(15),
        logger: Logger,
        onEvent: @escaping @Sendable (Event) async -> Void
    ) throws(RedisError) {
        factory = try RedisChannelFactory(configuration: configuration, eventLoopGroup: eventLoopGroup)
        self.configuration = factory.configuration
        self.healthCheckInterval = healthCheckInterval
        self.logger = logger
        self.onEvent = onEvent
    }

    /// Whether the connection is up with every subscription confirmed.
    public var isConnected: Bool { state.withLock { $0.isConnected } }

    /// The channels it should be subscribed to (confirmed or not).
    public var channels: Set<String> { state.withLock { $0.channels } }

    /// The patterns it should be subscribed to (confirmed or not).
    public var patterns: Set<String> { state.withLock { $0.patterns } }

    public func subscribe(_ channels: [String]) async throws(RedisError) {
        try await request(.subscribe, channels)
    }

    public func unsubscribe(_ channels: [String]) async throws(RedisError) {
        try await request(.unsubscribe, channels)
    }

    public func psubscribe(_ patterns: [String]) async throws(RedisError) {
        try await request(.psubscribe, patterns)
    }

    public func punsubscribe(_ patterns: [String]) async throws(RedisError) {
        try await request(.punsubscribe, patterns)
    }

    /// Sends the request and waits for its confirmation, at most the command
    /// timeout. A caller that gives up (timeout, cancellation) leaves the
    /// subscription set changed; the confirmation may still come.
    private func request(_ kind: RedisSubscriberStateMachine.Kind, _ names: [String]) async throws(RedisError) {
        let id = state.withLock { $0.makeWaiterID() }
        let limit = configuration.commandTimeout
        let result = await withTaskGroup(of: Result<Void, RedisError>?.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (waiter: RedisSubscriberStateMachine.Waiter) in
                        switch self.state.withLock({ $0.request(kind, names, waiter: waiter, id: id, cancelled: Task.isCancelled) }) {
                        case .done: waiter.resume(returning: .success(()))
                        case .fail(let error): waiter.resume(returning: .failure(error))
                        case .wait: break
                        }
                    }
                } onCancel: {
                    self.state.withLock { $0.cancelWaiter(id: id) }?.resume(returning: .failure(.cancelled()))
                }
            }
            if let limit {
                group.addTask {
                    try? await Task.sleep(for: limit)
                    return nil
                }
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(RedisError(.timeout, "Redis did not confirm \(kind.command) within \(limit ?? .zero)"))
        }
        try result.get()
    }
}
