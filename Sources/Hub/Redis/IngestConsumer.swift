import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import Protocol
import Redis
import ServiceLifecycle
import Synchronization

/// Reads the stream `hub:ingest` with the consumer group `hub` and publishes
/// each entry through the Redis event bus; a swift-service-lifecycle `Service`.
///
/// - **In order.** One node at a time reads the stream: the holder of
///   ``IngestLease`` (key `hub:ingest:lease`). Parallel consumers would
///   publish consecutive entries of one topic out of order.
/// - **Once.** An entry's publish and its `XACK` are one script
///   (``RedisBusScripts/publish``): the events go out if and only if the
///   entry was still pending, so an entry read by two consumers (a claim
///   racing a slow consumer, a retry after a lost reply) is published once.
/// - **No loss.** An entry stays pending until it is published or
///   dead-lettered. On start, and after a failed publish or a lost
///   connection, this consumer first re-reads its own pending entries. A
///   node that takes the lease over first claims (`XAUTOCLAIM`) the pending
///   entries the previous leader left.
/// - **Malformed entries** (no `event` field, bad JSON, a bad topic or event
///   name, no tenant, …) are acknowledged and copied to `hub:ingest:dead`
///   (fields `id`, `reason`, `consumer`, `event`) in one script, logged and
///   counted (`hub_ingest_malformed_total`). So is an entry whose publish
///   Redis refuses for good (not a temporary failure).
/// - **Blocking reads** use a connection of their own (``RedisConnection``),
///   never the pool's: a `BLOCK` holds up every command queued behind it.
///   Publishing goes through the bus's client.
/// - **Shutdown.** On graceful shutdown the consumer stops between entries
///   (after at most one `block`), closes its connection and returns; it
///   never throws then (STACK-NOTES P6). It gives the lease up, so another
///   node takes over at its next `standbyPoll` and claims what was left pending.
///
/// - **Bounded.** After each batch the reader trims the stream of what
///   every consumer group has acknowledged (``IngestConsumerConfiguration/trimAcknowledged``).
///
/// Metrics: `hub_ingest_published_total`, `hub_ingest_malformed_total`,
/// `hub_ingest_claimed_total`, `hub_ingest_duplicates_total`, `hub_ingest_trimmed_total`,
/// `hub_ingest_publish_failures_total`, `hub_ingest_leader` (1 on the reading node).
public final class IngestConsumer: Service {
    public let configuration: IngestConsumerConfiguration
    let redis: RedisConfiguration
    let eventLoopGroup: any EventLoopGroup
    let bus: RedisEventBus
    let metrics: HubMetrics
    let logger: Logger
    private let started = Atomic<Bool>(false)

    /// - Parameters:
    ///   - redis: where to open the consumer's own connection (the same server as the bus's client).
    ///   - bus: publishes the entries (its client also runs the acknowledging scripts).
    public init(
        configuration: IngestConsumerConfiguration, redis: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, bus: RedisEventBus,
        metrics: HubMetrics,
        logger: Logger
    ) {
        self.configuration = configuration
        self.redis = redis
        self.eventLoopGroup = eventLoopGroup
        self.bus = bus
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "hub.ingest.consumer"] = "\(configuration.consumer)"
        self.logger = logger
    }

    private var stopping: Bool { Task.isShuttingDownGracefully || Task.isCancelled }

    /// Consumes until graceful shutdown or cancellation. Throws only when called a second time.
    public func run() async throws {
        guard !started.exchange(true, ordering: .relaxed) else {
            throw HubError(.internalError, "IngestConsumer.run() was called more than once")
        }
        var attempt = 0
        while !stopping {
            do {
                let connection = try await RedisConnection.connect(
                    configuration: redis, eventLoopGroup: eventLoopGroup, logger: logger)
                attempt = 0
                do {
                    try await consume(on: connection)
                } catch {
                    logger.info("ingest connection lost", metadata: ["redis.error": "\(error.code)"])
                }
                await connection.close()
            } catch {
                logger.debug(
                    "ingest connect failed",
                    metadata: ["redis.error": "\(error.code)", "redis.attempt": "\(attempt)"])
            }
            guard !stopping else { break }
            await pause(redis.reconnectBackoff.delay(attempt: attempt))
            attempt += 1
        }
        logger.debug("ingest consumer stopped")
    }

    /// Sleeps, waking early on graceful shutdown or cancellation.
    private func pause(_ delay: Duration) async {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
    }

    private func consume(on connection: RedisConnection) async throws(RedisError) {
        try await createGroup(on: connection)
        let lease = IngestLease(
            key: configuration.leaseKey, holder: configuration.consumer,
            duration: configuration.leaseDuration)
        var pending = true
        defer { metrics.ingestLeader.record(0) }
        while !stopping {
            switch try await lease.claim(on: bus.client) {
            case .standby:
                metrics.ingestLeader.record(0)
                await pause(configuration.standbyPoll)
                continue
            case .acquired:
                logger.info("took the ingest lease: this node reads hub:ingest")
                metrics.ingestLeader.record(1)
                pending = true
            case .renewed:
                break
            }
            if pending {
                // Everything still pending (this consumer's own entries from an
                // earlier term, then those of a leader that died) before new ones.
                switch try await handlePending(on: connection) {
                case .done: pending = false
                case .more: break
                case .failed: await pause(configuration.retryDelay)
                }
                continue
            }
            let entries = try await read(on: connection, id: ">", block: true)
            if await !handle(entries) {
                pending = true
                await pause(configuration.retryDelay)
            } else if !entries.isEmpty, configuration.trimAcknowledged {
                await trimAcknowledged()
            }
        }
        await lease.release(on: bus.client)
    }

    private enum PendingPass { case done, more, failed }

    /// One batch of pending entries: this consumer's own first, then (claimed
    /// with `XAUTOCLAIM`) any other consumer's, in stream order.
    private func handlePending(on connection: RedisConnection) async throws(RedisError) -> PendingPass {
        let own = try await read(on: connection, id: "0", block: false)
        if !own.isEmpty { return await handle(own) ? .more : .failed }
        // One batch per pass, so the lease is renewed between batches. Handled
        // entries leave the pending list, so each pass scans from the start.
        let (next, claimed) = try await claim(on: connection, cursor: "0-0")
        guard !claimed.isEmpty else { return next == "0-0" ? .done : .more }
        metrics.ingestClaimed.increment(by: Int64(claimed.count))
        logger.info("claimed pending ingest entries", metadata: ["hub.ingest.claimed": "\(claimed.count)"])
        // Claimed entries are now this consumer's own: a failure leaves them pending for the next pass.
        return await handle(claimed) ? .more : .failed
    }

    private func createGroup(on connection: RedisConnection) async throws(RedisError) {
        do {
            _ = try await connection.send([
                "XGROUP", "CREATE", .string(configuration.stream), .string(configuration.group), "0",
                "MKSTREAM",
            ])
        } catch  where error.serverErrorPrefix == "BUSYGROUP" {
            // The group exists.
        }
    }

    // MARK: - Reading

    /// `XREADGROUP`: this consumer's pending entries (`id` `0`) or new ones (`>`, blocking).
    private func read(on connection: RedisConnection, id: String, block: Bool)
        async throws(RedisError) -> [IngestEntry]
    {
        var command: RedisCommand = [
            "XREADGROUP", "GROUP", .string(configuration.group), .string(configuration.consumer), "COUNT",
            .integer(max(1, configuration.batchSize)),
        ]
        if block {
            command.arguments += ["BLOCK", .integer(configuration.block.milliseconds(atLeast: 1))]
        }
        command.arguments += ["STREAMS", .string(configuration.stream), .string(id)]
        let timeout =
            block ? configuration.block + (redis.commandTimeout ?? .seconds(10)) : redis.commandTimeout
        let reply = try await connection.send(command, timeout: timeout)
        // nil: the block timed out. Otherwise [[stream, entries]].
        guard let streams = reply.array else { return [] }
        var entries: [IngestEntry] = []
        for stream in streams {
            guard let pair = stream.array, pair.count == 2, let items = pair[1].array else { continue }
            entries += items.compactMap(Self.entry)
        }
        return entries
    }

    /// `XAUTOCLAIM`: pending entries of any other consumer (only the lease
    /// holder reads, so whatever another consumer left pending is orphaned).
    private func claim(on connection: RedisConnection, cursor: String) async throws(RedisError) -> (
        String, [IngestEntry]
    ) {
        let reply = try await connection.send([
            "XAUTOCLAIM", .string(configuration.stream), .string(configuration.group),
            .string(configuration.consumer),
            0, .string(cursor), "COUNT", .integer(max(1, configuration.batchSize)),
        ])
        guard let parts = reply.array, parts.count >= 2, let next = parts[0].string,
            let items = parts[1].array
        else {
            throw RedisError(.unexpectedReply, "XAUTOCLAIM answered \(reply)")
        }
        return (next, items.compactMap(Self.entry))
    }

    /// `[id, [field, value, …]]` (fields nil for an entry deleted while pending).
    static func entry(_ value: RESPValue) -> IngestEntry? {
        guard let pair = value.array, pair.count == 2, let id = pair[0].string else { return nil }
        guard let flat = pair[1].array else { return IngestEntry(id: id, fields: nil) }
        var fields: [(name: String, value: ByteBuffer)] = []
        var index = 0
        while index + 1 < flat.count {
            if let name = flat[index].string, let value = flat[index + 1].bytes {
                fields.append((name, value))
            }
            index += 2
        }
        return IngestEntry(id: id, fields: fields)
    }

    // MARK: - Handling

    /// Handles entries in order; false when a publish failed for now (the
    /// rest stay pending, to be retried).
    private func handle(_ entries: [IngestEntry]) async -> Bool {
        for entry in entries {
            guard !stopping else { return true }
            guard await handle(entry) else { return false }
        }
        return true
    }

    private func handle(_ entry: IngestEntry) async -> Bool {
        guard entry.fields != nil else {
            // Deleted from the stream while pending: nothing to publish.
            _ = try? await bus.client.send([
                "XACK", .string(configuration.stream), .string(configuration.group), .string(entry.id),
            ])
            return true
        }
        let draft: EventDraft
        switch entry.draft() {
        case .success(let value): draft = value
        case .failure(let rejection): return await deadLetter(entry, reason: rejection.reason)
        }
        let ack = RedisTopicStore.Acknowledgement(
            stream: configuration.stream, group: configuration.group, id: entry.id)
        do {
            if try await bus.publish(draft, acknowledging: ack) != nil {
                metrics.ingestPublished.increment()
            } else {
                metrics.ingestDuplicates.increment()
                logger.debug(
                    "ingest entry already handled by another consumer",
                    metadata: ["redis.entry": "\(entry.id)"])
            }
            return true
        } catch  where error.temporary {
            metrics.ingestFailures.increment()
            logger.info(
                "ingest publish failed; will retry",
                metadata: ["redis.entry": "\(entry.id)", "hub.error": "\(error)"])
            return false
        } catch {
            return await deadLetter(entry, reason: "publish refused: \(error.message)")
        }
    }

    /// Removes what every group has acknowledged; a failure only postpones it to the next batch.
    private func trimAcknowledged() async {
        do {
            let removed = try await bus.client.evaluate(
                RedisBusScripts.trimAcknowledged, keys: [.string(configuration.stream)], arguments: [])
            if let count = removed.integer, count > 0 { metrics.ingestTrimmed.increment(by: count) }
        } catch {
            logger.debug("could not trim the ingest stream", metadata: ["redis.error": "\(error.code)"])
        }
    }

    /// Acknowledges the entry and copies it to the dead-letter stream; false when Redis is unavailable.
    private func deadLetter(_ entry: IngestEntry, reason: String) async -> Bool {
        do {
            let reply = try await bus.client.evaluate(
                RedisBusScripts.deadLetter,
                keys: [.string(configuration.stream), .string(configuration.deadLetterStream)],
                arguments: [
                    .string(configuration.group), .string(entry.id),
                    .integer(max(1, configuration.deadLetterLength)), .string(reason),
                    .string(configuration.consumer), entry.payload.map { .bytes($0) } ?? "",
                ])
            if reply.integer == 1 {
                metrics.ingestMalformed.increment()
                logger.warning(
                    "malformed ingest entry moved to the dead-letter stream",
                    metadata: ["redis.entry": "\(entry.id)", "hub.reason": "\(reason)"])
            } else {
                metrics.ingestDuplicates.increment()
            }
            return true
        } catch {
            metrics.ingestFailures.increment()
            logger.info(
                "could not dead-letter an ingest entry; will retry",
                metadata: ["redis.entry": "\(entry.id)", "redis.error": "\(error.code)"])
            return false
        }
    }
}
