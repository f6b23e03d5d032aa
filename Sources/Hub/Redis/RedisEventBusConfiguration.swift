/// How a ``RedisEventBus`` behaves. Every field but `nodeID` has a default.
public struct RedisEventBusConfiguration: Sendable, Equatable {
    /// This node's name, for logs (and the ingest consumer's name). Required.
    public var nodeID: String
    /// The first segment of every key and channel (``RedisKeySpace``). Default `hub`.
    public var keyPrefix: String
    /// Events kept per topic: each stream is trimmed with `MAXLEN ~ historyLength`
    /// (approximate: Redis trims whole nodes, so a stream may hold somewhat
    /// more). Default 256 (`HubLimits.historyLength`); at least 1.
    public var historyLength: Int
    /// When set, a topic's stream and hash expire this long after its last
    /// event (its history, epoch and last value go; a later event starts a new
    /// epoch). Default nil: they stay until trimmed, evicted or lost.
    public var topicTTL: Duration?
    /// How long the placeholder epoch of a topic without events lives (it is
    /// written when a node subscribes, see ``RedisBusScripts/sync``). Default 1 day.
    public var placeholderTTL: Duration
    /// How long a subscribe waits for Redis to confirm before it fails with
    /// `SERVICE_UNAVAILABLE`. Default 10 s.
    public var subscribeTimeout: Duration
    /// Events read per history request while recovering after a reconnect. Default 500.
    public var recoveryPageSize: Int
    /// Topics recovered concurrently after a reconnect. Default 16.
    public var recoveryConcurrency: Int
    /// Events per publish script call (a batch is split beyond, and per tenant). Default 500.
    public var maxEventsPerScript: Int

    public init(
        nodeID: String,
        keyPrefix: String = "hub",
        historyLength: Int = 256,
        topicTTL: Duration? = nil,
        placeholderTTL: Duration = .seconds(86_400),
        subscribeTimeout: Duration = .seconds(10),
        recoveryPageSize: Int = 500,
        recoveryConcurrency: Int = 16,
        maxEventsPerScript: Int = 500
    ) {
        self.nodeID = nodeID
        self.keyPrefix = keyPrefix
        self.historyLength = historyLength
        self.topicTTL = topicTTL
        self.placeholderTTL = placeholderTTL
        self.subscribeTimeout = subscribeTimeout
        self.recoveryPageSize = recoveryPageSize
        self.recoveryConcurrency = recoveryConcurrency
        self.maxEventsPerScript = maxEventsPerScript
    }
}
