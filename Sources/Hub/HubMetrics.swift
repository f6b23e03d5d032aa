import CoreMetrics

/// The real-time core's metrics, created from an injected factory (no global
/// metrics system is needed).
public struct HubMetrics: Sendable {
    public let connections: Meter
    public let subscriptions: Meter
    public let eventsPublished: Counter
    public let framesDelivered: Counter
    public let framesDropped: Counter
    public let slowConsumerCloses: Counter
    public let fanoutDuration: Timer
    public let invalidFrames: Counter
    /// Redis bus: pub/sub messages, history entries or last values that were not events (dropped, logged).
    public let busMalformedMessages: Counter
    /// Redis bus: times the subscriber connection was lost.
    public let busInterruptions: Counter
    /// Redis bus: events read back from history after the subscriber reconnected.
    public let busRecoveredEvents: Counter
    /// Redis bus: sessions closed (1012 + `reconnect`) because a gap could not be filled.
    public let busGapCloses: Counter
    /// Ingestion (`hub:ingest`): entries published.
    public let ingestPublished: Counter
    /// Ingestion: malformed entries acknowledged and moved to the dead-letter stream.
    public let ingestMalformed: Counter
    /// Ingestion: pending entries claimed from other (dead) consumers.
    public let ingestClaimed: Counter
    /// Ingestion: entries found already acknowledged by another consumer (not published again).
    public let ingestDuplicates: Counter
    /// Ingestion: publish attempts that failed (the entry stays pending and is retried).
    public let ingestFailures: Counter
    /// Ingestion: acknowledged entries trimmed from `hub:ingest`.
    public let ingestTrimmed: Counter
    /// Ingestion: 1 while this node holds the reader's lease (reads `hub:ingest`), else 0.
    public let ingestLeader: Gauge
    /// Embedded: topics forgotten after `topic_ttl` without an event.
    public let topicsExpired: Counter
    /// Embedded: topics whose history and last value this process holds.
    public let topics: Meter

    public init(factory: any MetricsFactory) {
        connections = Meter(label: "hub_connections", factory: factory)
        subscriptions = Meter(label: "hub_subscriptions", factory: factory)
        eventsPublished = Counter(label: "hub_events_published_total", factory: factory)
        framesDelivered = Counter(label: "hub_frames_delivered_total", factory: factory)
        framesDropped = Counter(label: "hub_frames_dropped_total", factory: factory)
        slowConsumerCloses = Counter(label: "hub_slow_consumer_closes_total", factory: factory)
        fanoutDuration = Timer(label: "hub_fanout_duration_seconds", preferredDisplayUnit: .seconds, factory: factory)
        invalidFrames = Counter(label: "hub_invalid_frames_total", factory: factory)
        busMalformedMessages = Counter(label: "hub_bus_malformed_messages_total", factory: factory)
        busInterruptions = Counter(label: "hub_bus_interruptions_total", factory: factory)
        busRecoveredEvents = Counter(label: "hub_bus_recovered_events_total", factory: factory)
        busGapCloses = Counter(label: "hub_bus_gap_closes_total", factory: factory)
        ingestPublished = Counter(label: "hub_ingest_published_total", factory: factory)
        ingestMalformed = Counter(label: "hub_ingest_malformed_total", factory: factory)
        ingestClaimed = Counter(label: "hub_ingest_claimed_total", factory: factory)
        ingestDuplicates = Counter(label: "hub_ingest_duplicates_total", factory: factory)
        ingestFailures = Counter(label: "hub_ingest_publish_failures_total", factory: factory)
        ingestLeader = Gauge(label: "hub_ingest_leader", factory: factory)
        ingestTrimmed = Counter(label: "hub_ingest_trimmed_total", factory: factory)
        topicsExpired = Counter(label: "hub_topics_expired_total", factory: factory)
        topics = Meter(label: "hub_topics", factory: factory)
    }

    /// Metrics that go nowhere, for tests that don't look at them.
    public static var discarding: HubMetrics { HubMetrics(factory: NOOPMetricsHandler.instance) }
}
