import CoreMetrics
import Logging
import NIOCore
import Protocol
import Redis
import ServiceLifecycle
import Synchronization

/// The event bus of the distributed deployment: any number of hub processes
/// sharing one Redis behave as one hub. Implements the ``EventBus`` contract:
///
/// - `publish`: one Lua script (``RedisBusScripts/publish``) per run of
///   events of one tenant appends each event to its topic's stream
///   (`XADD … MAXLEN ~ historyLength`), publishes it on the topic's channel,
///   updates the last value and the entity directory, atomically. An event's
///   offset is `<epoch>:<stream id>`; the epoch is stored beside the stream
///   and renewed whenever the stream is (re)created after a loss, so a
///   `since` from before the loss gets `resync`. Redis unreachable: throws
///   `SERVICE_UNAVAILABLE` and nothing is delivered. (A connection that
///   breaks while the script runs also throws, though the events may have
///   gone out: the caller cannot tell, as with any network store.)
/// - Delivery: every node's subscriber receives the events of the channels
///   its own sessions need and hands them to its Distributor in publish
///   order per topic (the publishing node too, through Redis).
/// - `history`: the stream after the offset (`XRANGE (id + COUNT`), all or
///   nothing: complete only when the offset is of the topic's current epoch,
///   not after its latest event, and no entry after it was trimmed (each
///   entry records its predecessor's id, so the first entry left names the
///   newest one trimmed) or deleted (`max-deleted-entry-id`).
/// - `attach`/`detach`: reference-counted `SUBSCRIBE`/`PSUBSCRIBE`, see
///   ``RedisSubscriptionTable``. `attach` returns once Redis confirmed.
/// - Reconnects of the subscriber: see ``RedisBusReceiver`` (missed events of
///   exact topics are read back from the streams; what cannot be recovered
///   has its sessions closed with a `reconnect` frame and 1012).
///
/// The bus is a `Service`: `run()` performs the subscription changes. Run
/// the client and the subscriber as services before it (so that they shut
/// down after it): `[client, bus.subscriber, bus, …, the HTTP server]`.
public final class RedisEventBus: EventBus, Service {
    /// The pub/sub connection, made by the caller in ``init(client:distributor:configuration:metrics:logger:subscriber:)``.
    public let subscriber: RedisSubscriber
    public let configuration: RedisEventBusConfiguration
    public let client: RedisClient
    public let distributor: Distributor
    let store: RedisTopicStore
    let receiver: RedisBusReceiver
    let metrics: HubMetrics
    let logger: Logger
    private let wakeups: AsyncStream<Void>
    private let wakeup: AsyncStream<Void>.Continuation
    private let started = Atomic<Bool>(false)

    /// - Parameters:
    ///   - client: commands (run it as a service).
    ///   - distributor: this node's Distributor (its index decides who gets what).
    ///   - subscriber: makes this node's `RedisSubscriber` with the given
    ///     `onEvent` (the bus's receiver), e.g.
    ///     `{ try RedisSubscriber(configuration: redis, logger: logger, onEvent: $0) }`;
    ///     run the result (``subscriber``) as a service.
    /// - Throws: `VALIDATION_ERROR` for a bad key prefix or history length;
    ///   whatever `subscriber` throws.
    public init(
        client: RedisClient,
        distributor: Distributor,
        configuration: RedisEventBusConfiguration,
        metrics: HubMetrics,
        logger: Logger,
        subscriber makeSubscriber: (@escaping @Sendable (RedisSubscriber.Event) async -> Void) throws -> RedisSubscriber
    ) throws {
        guard configuration.historyLength >= 1 else { throw HubError.validation("historyLength must be at least 1") }
        guard !configuration.nodeID.isEmpty else { throw HubError.validation("nodeID must not be empty") }
        var logger = logger
        logger[metadataKey: "hub.node"] = "\(configuration.nodeID)"
        let store = RedisTopicStore(
            client: client, keys: try RedisKeySpace(prefix: configuration.keyPrefix), historyLength: configuration.historyLength,
            topicTTL: configuration.topicTTL, placeholderTTL: configuration.placeholderTTL, metrics: metrics, logger: logger)
        let receiver = RedisBusReceiver(
            store: store, distributor: distributor, recoveryPageSize: configuration.recoveryPageSize,
            recoveryConcurrency: configuration.recoveryConcurrency, metrics: metrics, logger: logger)
        self.subscriber = try makeSubscriber { event in await receiver.handle(event) }
        self.client = client
        self.distributor = distributor
        self.configuration = configuration
        self.store = store
        self.receiver = receiver
        self.metrics = metrics
        self.logger = logger
        (wakeups, wakeup) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var keys: RedisKeySpace { store.keys }

    // MARK: - EventBus

    public func publish(_ drafts: [EventDraft]) async throws -> [Event] {
        var published: [Event] = []
        published.reserveCapacity(drafts.count)
        var start = drafts.startIndex
        let most = max(1, configuration.maxEventsPerScript)
        while start < drafts.endIndex {
            var end = start + 1
            while end < drafts.endIndex, end - start < most, drafts[end].tenant == drafts[start].tenant { end += 1 }
            // Without an acknowledgement the script always answers the offsets.
            published += try await store.publish(drafts[start..<end]) ?? []
            start = end
        }
        metrics.eventsPublished.increment(by: Int64(published.count))
        return published
    }

    /// Publishes the event of an ingest entry and acknowledges the entry in
    /// the same script: nil (nothing published) when the entry was not
    /// pending any more, i.e. another consumer handled it.
    func publish(_ draft: EventDraft, acknowledging ack: RedisTopicStore.Acknowledgement) async throws(HubError) -> Event? {
        guard let events = try await store.publish([draft][...], acknowledging: ack) else { return nil }
        metrics.eventsPublished.increment(by: Int64(events.count))
        return events.first
    }

    public func history(_ key: TopicKey, after offset: Offset?, limit: Int) async throws -> HistoryPage {
        try await store.history(key, after: offset, limit: limit)
    }

    public func lastEvent(_ key: TopicKey) async throws -> Event? {
        try await store.lastEvent(key)
    }

    public func entity(_ ref: EntityRef, tenant: String) async throws -> EntityRecord? {
        try await store.entity(ref, tenant: tenant)
    }

    public func recordEntity(_ ref: EntityRef, tenant: String, teamID: String?) async throws {
        try await store.recordEntity(ref, tenant: tenant, teamID: teamID)
    }

    public func forget(_ ref: EntityRef, tenant: String, topics: [Topic]) async throws {
        try await store.forget(ref, tenant: tenant, topics: topics)
    }

    /// Whether Redis is reachable now: a command connection is up and the
    /// subscriber is connected with its subscriptions confirmed (without it
    /// this node would publish but deliver nothing). No I/O.
    public func isReady() async -> Bool {
        client.isConnected && subscriber.isConnected
    }

    public func attach(_ keys: [TopicKey]) async throws {
        try await attach(targets: keys.map { $0.topic.isPattern ? .pattern($0) : .exact($0) })
    }

    public func detach(_ keys: [TopicKey]) {
        detach(targets: keys.map { $0.topic.isPattern ? .pattern($0) : .exact($0) })
    }

    // MARK: - Observers

    /// Calls `handler` for every event this node receives on topics that
    /// `topic` matches (a concrete topic or a pattern such as
    /// `operation:*:progress`), in every tenant, whether or not a session
    /// subscribed: the node subscribes to them for the observer. Returns once
    /// Redis confirmed. The handler runs on the receiving path, one event at
    /// a time in arrival order: it must be quick and must not block (wake a
    /// waiter, yield to a stream). It also gets `.interrupted` and `.resumed`
    /// around a lost subscriber connection, during which events may have been
    /// missed. Stop with ``stopObserving(_:)``.
    ///
    /// For the operations service in distributed mode: observe
    /// `operation:*:progress` and wake the long-polls of the operation named
    /// by each event (its topic's id), and every long-poll on `.resumed`.
    public func observe(_ topic: Topic, _ handler: @escaping @Sendable (BusObservation) -> Void) async throws -> BusObserverToken {
        let id = receiver.table.withLock { table in
            let id = table.makeID()
            table.addObserver(id, .init(topic: topic, handler: handler))
            return id
        }
        do {
            try await attach(targets: [.observer(topic)])
        } catch {
            _ = receiver.table.withLock { $0.removeObserver(id) }
            detach(targets: [.observer(topic)])
            throw error
        }
        return BusObserverToken(id: id, topic: topic)
    }

    /// Ends an observation; the handler is not called after this returns.
    public func stopObserving(_ token: BusObserverToken) {
        guard receiver.table.withLock({ $0.removeObserver(token.id) }) != nil else { return }
        detach(targets: [.observer(token.topic)])
    }

    // MARK: - Service

    /// Performs subscription changes until graceful shutdown or
    /// cancellation; then fails every waiting `attach`. Throws only when
    /// called a second time.
    public func run() async throws {
        guard !started.exchange(true, ordering: .relaxed) else {
            throw HubError(.internalError, "RedisEventBus.run() was called more than once")
        }
        await cancelWhenGracefulShutdown {
            for await _ in self.wakeups { await self.pump() }
        }
        let (waiters, idle) = receiver.table.withLock { ($0.stop(), $0.takeIdleWaiters()) }
        for waiter in waiters { waiter.resume(returning: .failure(.unavailable("the event bus has shut down"))) }
        for waiter in idle { waiter.resume() }
        wakeup.finish()
    }

    func wake() {
        wakeup.yield()
    }
}
