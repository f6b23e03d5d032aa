import CoreMetrics
import Logging
import NIOCore
import Protocol
import Redis
import Synchronization

/// The receiving half of ``RedisEventBus``: handles what the node's
/// `RedisSubscriber` reports, one event at a time and in order, and owns the
/// subscription table that the bus's attach/detach and pump change.
///
/// - A message is decoded (a malformed one is counted, logged and dropped),
///   repeated copies of one publish are dropped (Redis sends one per matching
///   subscription: the channel and each pattern), a copy of an event this node
///   already delivered is dropped, and the event goes to the Distributor and
///   the matching observers. Pub/sub keeps the order of one connection, and
///   so the order of each topic.
/// - `.disconnected`: messages are missed until `.resubscribed`; from now on
///   live messages are dropped too (some channels are confirmed again before
///   others, and their messages would overtake the missed ones).
/// - A sync marker (``RedisBusScripts/sync``) moves the topic's cursor.
/// - `.resubscribed`: for each exact topic of local sessions, the events
///   after this node's cursor are read from the topic's stream and delivered
///   in order, then live messages flow again (those already delivered by the
///   recovery are dropped as copies). A topic that cannot be recovered (no
///   cursor, another epoch: the history was lost, trimmed past the cursor,
///   Redis unreachable) and every wildcard subscription (a pattern has no
///   single history) get their sessions closed with 1012 after a `reconnect`
///   frame, so that clients resume from their own offsets and learn of the
///   loss (`resync`) — never a silent gap. Observers get `.interrupted` and
///   `.resumed`.
final class RedisBusReceiver: Sendable {
    let table = Mutex(BusSubscriptionTable())
    let store: RedisTopicStore
    let distributor: Distributor
    let metrics: HubMetrics
    let logger: Logger
    let recoveryPageSize: Int
    let recoveryConcurrency: Int
    /// How long recovery retries a history read that failed for now (`LOADING`, a broken connection).
    let recoveryRetryWindow: Duration

    init(
        store: RedisTopicStore, distributor: Distributor, recoveryPageSize: Int, recoveryConcurrency: Int,
        recoveryRetryWindow: Duration = .seconds(10), metrics: HubMetrics, logger: Logger
    ) {
        self.store = store
        self.distributor = distributor
        self.recoveryPageSize = max(1, recoveryPageSize)
        self.recoveryConcurrency = max(1, recoveryConcurrency)
        self.recoveryRetryWindow = recoveryRetryWindow
        self.metrics = metrics
        self.logger = logger
    }

    /// The subscriber's `onEvent`.
    func handle(_ event: RedisSubscriber.Event) async {
        switch event {
        case .message(let message):
            receive(message)
        case .disconnected(let error):
            table.withLock { $0.interrupt() }
            metrics.busInterruptions.increment()
            logger.info("redis bus subscriber lost; recovering when it is back", metadata: ["redis.error": "\(error.code)"])
            notifyAll(.interrupted)
        case .connected, .resubscribed:
            await connected()
        }
    }

    // MARK: - Messages

    func receive(_ message: RedisPubSubMessage) {
        if let (key, offset) = RedisEventCodec.decodeSync(message.payload) {
            guard store.keys.channel(key) == message.channel else {
                return malformed(message, RedisEventCodec.DecodingError(reason: "a sync marker for another channel"))
            }
            return table.withLock { $0.synced(key, offset) }
        }
        var body = message.payload
        let offset: Offset
        do {
            offset = try RedisEventCodec.takeOffset(&body)
        } catch {
            return malformed(message, error)
        }
        if table.withLock({ $0.isRepeat(channel: message.channel, offset: offset) }) { return }
        let event: Event
        do {
            event = try RedisEventCodec.decode(stored: body, offset: offset)
        } catch {
            return malformed(message, error)
        }
        // The channel names the tenant and topic: an event that says otherwise is refused.
        guard store.keys.channel(TopicKey(tenant: event.tenant, topic: event.topic)) == message.channel else {
            return malformed(message, RedisEventCodec.DecodingError(reason: "the event's tenant or topic is not its channel's"))
        }
        deliver(event, channel: message.channel)
    }

    /// Delivers a live event (`channel`: where it came from) or a recovered one (`channel` nil).
    private func deliver(_ event: Event, channel: String?) {
        let handlers = table.withLock { table -> [@Sendable (BusObservation) -> Void]? in
            guard table.accept(event, channel: channel) else { return nil }
            return table.handlers(for: event.topic)
        }
        guard let handlers else { return }
        distributor.deliver(event)
        for handler in handlers { handler(.event(event)) }
    }

    private func malformed(_ message: RedisPubSubMessage, _ error: RedisEventCodec.DecodingError) {
        metrics.busMalformedMessages.increment()
        logger.warning(
            "dropped a malformed message", metadata: ["redis.channel": "\(message.channel)", "hub.reason": "\(error.reason)"])
    }

    private func notifyAll(_ observation: BusObservation) {
        for handler in table.withLock({ $0.allHandlers }) { handler(observation) }
    }

    // MARK: - Reconnects

    private func connected() async {
        let (plan, wasInterrupted) = table.withLock { ($0.connected(), $0.interrupted) }
        for (waiter, result) in plan.resumed { waiter.resume(returning: result) }
        // Confirmed only now: their markers arrive once this handler returns.
        if !plan.needSync.isEmpty { try? await store.sync(plan.needSync) }
        guard wasInterrupted else { return }
        await recover(plan)
        table.withLock { $0.recovered() }
        notifyAll(.resumed)
    }

    /// Reads what each exact topic missed (a few topics at a time), delivers
    /// it in order, and closes the sessions of what cannot be recovered.
    private func recover(_ plan: BusSubscriptionTable.RecoveryPlan) async {
        var unrecoverable = plan.patterns
        var readable: [(key: TopicKey, cursor: Offset)] = []
        for item in plan.exact {
            if let cursor = item.cursor { readable.append((item.key, cursor)) } else { unrecoverable.append(item.key) }
        }
        var recovered = 0
        await withTaskGroup(of: (TopicKey, [Event]?).self) { group in
            var next = readable.makeIterator()
            var running = 0
            while running < recoveryConcurrency, let item = next.next() {
                group.addTask { (item.key, await self.missed(item.key, after: item.cursor)) }
                running += 1
            }
            while let (key, events) = await group.next() {
                running -= 1
                if let events {
                    for event in events { deliver(event, channel: nil) }
                    recovered += events.count
                } else {
                    unrecoverable.append(key)
                }
                while running < recoveryConcurrency, let item = next.next() {
                    group.addTask { (item.key, await self.missed(item.key, after: item.cursor)) }
                    running += 1
                }
            }
        }
        if recovered > 0 { metrics.busRecoveredEvents.increment(by: Int64(recovered)) }
        let closed = closeSessions(of: unrecoverable)
        logger.info(
            "redis bus subscriber back",
            metadata: [
                "hub.recovered_events": "\(recovered)", "hub.recovered_topics": "\(readable.count)",
                "hub.unrecoverable_topics": "\(unrecoverable.count)", "hub.closed_sessions": "\(closed)",
            ])
    }

    /// Every event after `cursor`, or nil when they are not all in history.
    private func missed(_ key: TopicKey, after cursor: Offset) async -> [Event]? {
        var after = cursor
        var events: [Event] = []
        // The stream holds about `historyLength` entries; publishers may add
        // more while this reads, but not without bound.
        let bound = 4 * store.historyLength + recoveryPageSize
        while events.count <= bound {
            guard let page = await historyPage(key, after: after), page.complete else { return nil }
            events += page.events
            guard page.truncated, let last = page.events.last else { return events }
            after = last.offset
        }
        return nil
    }

    /// One page of history. A temporary failure is retried for up to
    /// `recoveryRetryWindow`: a Redis that restarts with persistence accepts
    /// SUBSCRIBE while it is still loading its data set, and answers reads
    /// with `LOADING` until it is done. nil: it could not be read.
    private func historyPage(_ key: TopicKey, after: Offset) async -> HistoryPage? {
        let deadline = ContinuousClock.now + recoveryRetryWindow
        var delay = Duration.milliseconds(20)
        while true {
            do {
                return try await store.history(key, after: after, limit: recoveryPageSize)
            } catch where error.temporary && ContinuousClock.now + delay < deadline {
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
            } catch {
                logger.info("could not read a topic's history to recover it", metadata: ["hub.topic": "\(key.topic)", "hub.error": "\(error)"])
                return nil
            }
        }
    }

    /// Closes, with 1012 after a `reconnect` frame, the sessions subscribed to these keys.
    private func closeSessions(of keys: [TopicKey]) -> Int {
        guard !keys.isEmpty else { return 0 }
        let frame = ByteBuffer(bytes: ServerMessage.reconnect(reason: Self.gapReason).encoded())
        let request = Session.CloseRequest(code: .serviceRestart, reason: "events may have been missed", finalFrame: frame)
        var seen = Set<UInt64>()
        for key in keys {
            for session in distributor.index.sessions(of: key) where seen.insert(session.id).inserted {
                session.requestClose(request)
            }
        }
        if !seen.isEmpty { metrics.busGapCloses.increment(by: Int64(seen.count)) }
        return seen.count
    }

    /// The `reason` of the `reconnect` frame sent before such a close.
    static let gapReason = "events_missed"
}
