import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A Redis client with a small pool of connections; a swift-service-lifecycle
/// `Service`: add it to a `ServiceGroup` (before the services that use it, so
/// that it shuts down after them) or call ``run()`` in a task.
///
/// - Commands go to the least busy live connection; each connection
///   pipelines, so the pool size bounds sockets, not concurrency. Replies of
///   one caller come back in the order of its commands; commands of
///   different callers may reach Redis in any order.
/// - While no connection is up, commands fail at once with
///   ``RedisError/Code/notConnected`` (never queued, never hanging). Only
///   before and right after start, until the first connection attempts have
///   finished, do they wait for them (at most the connect timeout).
/// - A broken connection (server restart, network, command timeout) is
///   reconnected in the background with exponential backoff and jitter
///   (``RedisConfiguration/reconnectBackoff``). Commands that were in flight
///   on it fail with ``RedisError/Code/connectionClosed`` and are not retried:
///   they may or may not have run.
/// - Shutdown: on graceful shutdown new commands fail with
///   ``RedisError/Code/shutDown``, in-flight commands finish (bounded by their
///   timeout), then every channel is closed and ``run()`` returns. On
///   cancellation channels are closed at once.
/// - `MULTI`/`EXEC` must go in one ``pipeline(_:)``: other callers' commands
///   can interleave between separate sends. `WATCH` is not supported.
public final class RedisClient: Service, Sendable {
    public let configuration: RedisConfiguration
    private let factory: RedisChannelFactory
    private let logger: Logger
    private let state: Mutex<RedisPoolStateMachine<RedisConnection>>

    /// Validates the configuration and builds the TLS context; connects
    /// nothing until ``run()``.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) throws(RedisError) {
        factory = try RedisChannelFactory(configuration: configuration, eventLoopGroup: eventLoopGroup)
        self.configuration = factory.configuration
        self.logger = logger
        state = Mutex(RedisPoolStateMachine(size: configuration.poolSize))
    }

    // MARK: - Commands

    /// Sends one command with the configured command timeout and returns its
    /// reply; an error reply throws ``RedisError/Code/serverError``.
    public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        try await lease().send(command)
    }

    /// Sends one command with its own timeout (nil: no limit, for blocking
    /// commands; they hold up the commands queued behind them on the same
    /// connection, so prefer a dedicated ``RedisConnection`` for those).
    public func send(_ command: RedisCommand, timeout: Duration?) async throws(RedisError) -> RESPValue {
        try await lease().send(command, timeout: timeout)
    }

    /// Sends `commands` back-to-back on one connection, nothing interleaved,
    /// and returns their replies in order. Error replies stay values in
    /// their place (see ``RedisConnection/pipeline(_:)``).
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        try await lease().pipeline(commands)
    }

    /// ``pipeline(_:)`` with its own timeout for the last reply.
    public func pipeline(_ commands: [RedisCommand], timeout: Duration?) async throws(RedisError) -> [RESPValue] {
        try await lease().pipeline(commands, timeout: timeout)
    }

    // MARK: - Health

    /// Whether at least one connection is up right now. Cheap (a lock, no I/O):
    /// suitable for a readiness probe.
    public var isConnected: Bool { state.withLock { $0.connectedCount > 0 } }

    /// The number of live connections.
    public var connectedCount: Int { state.withLock { $0.connectedCount } }

    /// Sends `PING` and reports whether `PONG` came back within `timeout`.
    public func isReachable(timeout: Duration = .seconds(1)) async -> Bool {
        (try? await send(["PING"], timeout: timeout)) == .simpleString("PONG")
    }

    /// Returns once a connection is up (at once when one is). Unlike commands,
    /// this waits while Redis is down, however long; bound it with a timeout
    /// or cancel the task. Fails with ``RedisError/Code/shutDown`` on shutdown.
    public func waitForConnection() async throws(RedisError) {
        _ = try await lease(untilConnected: true)
    }

    private func lease(untilConnected: Bool = false) async throws(RedisError) -> RedisConnection {
        if !untilConnected {
            switch state.withLock({ $0.lease(waiter: nil) }) {
            case .use(let connection): return connection
            case .fail(let error) where error.code != .notConnected: throw error
            case .fail, .wait: break
            }
        }
        // Nothing live: wait if the first attempts are still running (or if
        // asked to), but a command no longer than the connect timeout, in
        // case run() is late or never comes.
        guard !untilConnected else { return try await waitForLease(untilConnected: true).get() }
        let limit = configuration.connectTimeout
        let result = await withTaskGroup(of: Result<RedisConnection, RedisError>?.self) { group in
            group.addTask { await self.waitForLease(untilConnected: false) }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(.notConnected("no connection to Redis came up within \(limit)"))
        }
        return try result.get()
    }

    private func waitForLease(untilConnected: Bool) async -> Result<RedisConnection, RedisError> {
        let id = state.withLock { $0.makeWaiterID() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: RedisPoolStateMachine<RedisConnection>.Waiter) in
                let action = state.withLock {
                    $0.lease(waiter: waiter, id: id, untilConnected: untilConnected, cancelled: Task.isCancelled)
                }
                switch action {
                case .use(let connection): waiter.resume(returning: .success(connection))
                case .fail(let error): waiter.resume(returning: .failure(error))
                case .wait: break
                }
            }
        } onCancel: {
            state.withLock { $0.cancelWaiter(id: id) }?.resume(returning: .failure(.cancelled()))
        }
    }

    // MARK: - Service

    /// Keeps the pool connected until graceful shutdown or cancellation.
    /// Throws only when called a second time.
    public func run() async throws {
        guard state.withLock({ $0.start() }) else {
            throw RedisError.shutDown("RedisClient.run() was called more than once")
        }
        logger.debug("redis client starting", metadata: ["redis.server": "\(configuration)"])
        await withDiscardingTaskGroup { group in
            for slot in 0..<configuration.poolSize {
                group.addTask { await self.maintain(slot: slot) }
            }
            let graceful = (try? await gracefulShutdown()) != nil
            let (live, waiters) = state.withLock { $0.shutDown() }
            for waiter in waiters { waiter.resume(returning: .failure(.shutDown())) }
            await withDiscardingTaskGroup { closing in
                for connection in live {
                    closing.addTask {
                        if graceful { await connection.closeGracefully() } else { await connection.close() }
                    }
                }
            }
            // Wakes slots sleeping in backoff; connected ones end as their channel closes.
            group.cancelAll()
        }
        state.withLock { $0.finished() }
        logger.debug("redis client stopped")
    }

    /// One slot's life: connect, wait for the connection to drop, back off, again.
    private func maintain(slot: Int) async {
        var logger = self.logger
        logger[metadataKey: "redis.slot"] = "\(slot)"
        var attempt = 0
        while state.withLock({ $0.willConnect(slot: slot) }) {
            do {
                let connection = try await RedisConnection.connect(factory: factory, logger: logger)
                switch state.withLock({ $0.connected(slot: slot, connection) }) {
                case .close(let connection):
                    await connection.close()
                    return
                case .resume(let waiters, let connection):
                    for waiter in waiters { waiter.resume(returning: .success(connection)) }
                }
                if attempt > 0 { logger.info("redis connection restored", metadata: ["redis.attempts": "\(attempt)"]) }
                attempt = 0
                try? await connection.closeFuture.get()
                guard state.withLock({ $0.disconnected(slot: slot) }) else { return }
                logger.info("redis connection lost; reconnecting")
            } catch {
                let (waiters, downError) = state.withLock { $0.connectFailed(slot: slot, error) }
                for waiter in waiters { waiter.resume(returning: .failure(downError)) }
                // The first failure in a row is a warning (a wrong password or
                // address shows at the default level); the retries are debug.
                logger.log(
                    level: attempt == 0 ? .warning : .debug, "redis connect failed",
                    metadata: ["redis.error": "\(error)", "redis.attempt": "\(attempt)"])
            }
            let delay = configuration.reconnectBackoff.delay(attempt: attempt)
            attempt += 1
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
        }
    }
}
