import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One connection to Redis: a SwiftNIO channel with the RESP codec and a
/// FIFO of pending commands.
///
/// - Pipelining: any number of tasks may send at the same time; commands go
///   out in the order their `send` reached the channel and each gets its own
///   reply. ``pipeline(_:)`` writes several commands in one go, back-to-back.
/// - Timeouts: a command whose reply is not in within the timeout fails with
///   ``RedisError/Code/timeout`` and the connection is closed (a late reply
///   would be taken for the next command's). Other pending commands then fail
///   with ``RedisError/Code/connectionClosed``: they may or may not have run.
/// - A connection does not reconnect: once closed, every `send` fails with
///   ``RedisError/Code/connectionClosed``. ``RedisClient`` reconnects.
/// - Blocking commands (`BLPOP`, `XREAD BLOCK`) hold up every command queued
///   behind them; give them a connection of their own and a longer timeout.
public final class RedisConnection: Sendable {
    let channel: any Channel
    let commandTimeout: Duration?
    let closeReason: RedisCloseReason
    private let pending = Atomic<Int>(0)

    init(channel: any Channel, commandTimeout: Duration?, closeReason: RedisCloseReason = RedisCloseReason()) {
        self.channel = channel
        self.commandTimeout = commandTimeout
        self.closeReason = closeReason
    }

    /// Connects, authenticates (`AUTH`), names the connection, selects the
    /// database and checks it with `PING`, all within the connect timeout.
    /// Throws ``RedisError/Code/authenticationFailed`` when `AUTH` is refused
    /// or the server demands a password that was not configured.
    public static func connect(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws(RedisError) -> RedisConnection {
        let factory = try RedisChannelFactory(configuration: configuration, eventLoopGroup: eventLoopGroup)
        return try await connect(factory: factory, logger: logger)
    }

    static func connect(factory: RedisChannelFactory, logger: Logger) async throws(RedisError) -> RedisConnection {
        let configuration = factory.configuration
        let deadline = NIODeadline.now() + TimeAmount(configuration.connectTimeout)
        let closeReason = RedisCloseReason()
        let channel = try await factory.connect { channel in
            try channel.pipeline.syncOperations.addHandlers(
                RESPReplyDecoder(limits: configuration.replyLimits), RedisCommandHandler(closeReason: closeReason))
            return channel
        }
        let connection = RedisConnection(channel: channel, commandTimeout: configuration.commandTimeout, closeReason: closeReason)
        do {
            try await connection.handshake(configuration, deadline: deadline)
        } catch {
            logger.debug("redis handshake failed", metadata: ["redis.error": "\(error)"])
            connection.channel.close(promise: nil)
            throw error
        }
        return connection
    }

    // MARK: - Commands

    /// Sends one command and returns its reply, within the configured command
    /// timeout. An error reply throws ``RedisError/Code/serverError``.
    public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        try await send(command, timeout: commandTimeout)
    }

    /// Sends one command with its own timeout (nil: wait without limit).
    public func send(_ command: RedisCommand, timeout: Duration?) async throws(RedisError) -> RESPValue {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let request = RedisRequest(commands: [command], response: .single(promise), deadline: deadline(timeout))
        let reply = try await perform(request, promise.futureResult)
        return try reply.throwingServerError()
    }

    /// Sends `commands` back-to-back and returns their replies in the same
    /// order. Error replies stay ``RESPValue/error(_:)`` values in their place
    /// and do not fail the others; the pipeline fails as a whole only when the
    /// connection does (closed, timed out, protocol error).
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        try await pipeline(commands, timeout: commandTimeout)
    }

    /// ``pipeline(_:)`` with its own timeout for the last reply (nil: no limit).
    public func pipeline(_ commands: [RedisCommand], timeout: Duration?) async throws(RedisError) -> [RESPValue] {
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        let request = RedisRequest(commands: commands, response: .pipeline(promise), deadline: deadline(timeout))
        return try await perform(request, promise.futureResult)
    }

    /// Commands sent whose replies have not all arrived yet.
    public var pendingCommands: Int { pending.load(ordering: .relaxed) }

    /// Whether the channel is still open.
    public var isActive: Bool { channel.isActive }

    /// Closes at once; pending commands fail with ``RedisError/Code/connectionClosed``.
    public func close() async {
        try? await channel.close()
    }

    /// Takes no more commands, lets pending ones finish, then closes.
    public func closeGracefully() async {
        channel.triggerUserOutboundEvent(RedisCommandHandler.CloseWhenIdle(), promise: nil)
        try? await channel.closeFuture.get()
    }

    /// Completes when the channel has closed, for whatever reason.
    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    private func perform<Value: Sendable>(_ request: RedisRequest, _ reply: EventLoopFuture<Value>) async throws(RedisError) -> Value {
        pending.add(1, ordering: .relaxed)
        defer { pending.subtract(1, ordering: .relaxed) }
        // Once the channel is closed its handlers are gone, so a write fails
        // without reaching the command handler: fail the request here then.
        let closeReason = self.closeReason
        channel.writeAndFlush(request).whenFailure { error in
            if let reason = closeReason.error {
                request.fail(RedisError.connectionClosed("the connection is closed: \(reason.message)"))
            } else {
                request.fail(error as? RedisError ?? RedisError.connectionClosed("the connection failed: \(error)"))
            }
        }
        do {
            return try await reply.get()
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError.connectionClosed("the connection failed: \(error)")
        }
    }

    /// Deadlines are on the event loop's clock (virtual on an embedded loop).
    private func deadline(_ timeout: Duration?) -> NIODeadline? {
        timeout.map { channel.eventLoop.now + TimeAmount($0) }
    }
}
