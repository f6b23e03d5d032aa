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

    public init(factory: any MetricsFactory) {
        connections = Meter(label: "hub_connections", factory: factory)
        subscriptions = Meter(label: "hub_subscriptions", factory: factory)
        eventsPublished = Counter(label: "hub_events_published_total", factory: factory)
        framesDelivered = Counter(label: "hub_frames_delivered_total", factory: factory)
        framesDropped = Counter(label: "hub_frames_dropped_total", factory: factory)
        slowConsumerCloses = Counter(label: "hub_slow_consumer_closes_total", factory: factory)
        fanoutDuration = Timer(label: "hub_fanout_duration_seconds", preferredDisplayUnit: .seconds, factory: factory)
        invalidFrames = Counter(label: "hub_invalid_frames_total", factory: factory)
    }

    /// Metrics that go nowhere, for tests that don't look at them.
    public static var discarding: HubMetrics { HubMetrics(factory: NOOPMetricsHandler.instance) }
}
