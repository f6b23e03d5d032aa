import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

extension RedisSubscriber {
    /// Connects and keeps the subscriptions until graceful shutdown or
    /// cancellation. Throws only when called a second time.
    public func run() async throws {
        guard state.withLock({ $0.start() }) else {
            throw RedisError.shutDown("RedisSubscriber.run() was called more than once")
        }
        await cancelWhenGracefulShutdown { await self.connectLoop() }
        for waiter in state.withLock({ $0.shutDown() }) {
            waiter.resume(returning: .failure(.shutDown("the subscriber has shut down")))
        }
    }

    private func connectLoop() async {
        var attempt = 0
        while !Task.isCancelled {
            do {
                let channel = try await openChannel()
                attempt = 0
                let reason = await session(on: channel)
                logger.info("redis subscriber connection lost", metadata: ["redis.error": "\(reason)"])
                await perform(state.withLock { $0.disconnected(reason) })
            } catch {
                logger.log(
                    level: attempt == 0 ? .warning : .debug, "redis subscriber connect failed",
                    metadata: ["redis.error": "\(error)", "redis.attempt": "\(attempt)"])
                await perform(state.withLock { $0.disconnected(error) })
            }
            guard !Task.isCancelled else { return }
            try? await Task.sleep(for: configuration.reconnectBackoff.delay(attempt: attempt))
            attempt += 1
        }
    }

    /// Connects and authenticates through a ``RedisConnection``, then turns
    /// the channel into an `NIOAsyncChannel` of values in, commands out.
    private func openChannel() async throws(RedisError) -> NIOAsyncChannel<RESPValue, RedisCommand> {
        let connection = try await RedisConnection.connect(factory: factory, logger: logger)
        let channel = connection.channel
        do {
            return try await channel.eventLoop.submit {
                let pipeline = channel.pipeline.syncOperations
                pipeline.removeHandler(try pipeline.handler(type: RedisCommandHandler.self), promise: nil)
                try pipeline.addHandler(MessageToByteHandler(RESPCommandEncoder()))
                return try NIOAsyncChannel<RESPValue, RedisCommand>(wrappingChannelSynchronously: channel)
            }.get()
        } catch {
            await connection.close()
            throw RedisError(.connectionFailed, "could not set up the subscriber connection: \(error)")
        }
    }

    /// Runs one connection until it breaks; returns why it ended.
    private func session(on channel: NIOAsyncChannel<RESPValue, RedisCommand>) async -> RedisError {
        do {
            try await channel.executeThenClose { inbound, outbound in
                let (commands, writer) = AsyncStream.makeStream(of: RedisCommand.self)
                let restored = state.withLock { $0.connected(writer) }
                // Three children; the first to end (by error, a dead PING,
                // the server closing, or shutdown finishing the writer)
                // ends the session.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // The only writer of the channel: commands leave in the order they were queued.
                    group.addTask {
                        for await command in commands { try await outbound.write(command) }
                    }
                    if let interval = healthCheckInterval {
                        group.addTask { try await self.checkHealth(every: interval) }
                    }
                    group.addTask {
                        await self.perform(restored)
                        for try await value in inbound {
                            let outcome = self.state.withLock { $0.received(value) }
                            await self.perform(outcome)
                            if let violation = outcome.violation { throw violation }
                        }
                        throw RedisError.connectionClosed("Redis closed the subscriber connection")
                    }
                    defer { group.cancelAll() }
                    try await group.next()
                }
            }
            return .connectionClosed()
        } catch let error as RedisError {
            return error
        } catch {
            return .connectionClosed("the subscriber connection failed: \(error)")
        }
    }

    private func checkHealth(every interval: Duration) async throws {
        while true {
            try await Task.sleep(for: interval)
            guard state.withLock({ $0.ping() }) else {
                throw RedisError(.timeout, "no reply to PING within \(interval)")
            }
        }
    }

    /// Resumes waiters, then hands the events to `onEvent` in order.
    private func perform(_ outcome: RedisSubscriberStateMachine.Outcome) async {
        for (waiter, result) in outcome.resumed {
            waiter.resume(returning: result)
        }
        for event in outcome.events {
            await onEvent(event)
        }
    }
}
