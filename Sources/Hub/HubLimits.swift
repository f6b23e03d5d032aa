/// Every limit of the real-time core. Each has a default, a configuration key
/// (see Docs/configuration.md) and a test at the limit.
public struct HubLimits: Sendable, Equatable {
    /// Largest client frame accepted; larger → `MESSAGE_TOO_LARGE` and close 1009.
    public var maxMessageBytes: Int = 65_536
    /// Subscriptions one connection may hold; more → `TOO_MANY_SUBSCRIPTIONS`.
    public var maxSubscriptionsPerConnection: Int = 200
    /// Client frames per second per connection (a token bucket of this size
    /// refilled at this rate); over → `RATE_LIMITED`.
    public var maxFramesPerSecond: Int = 50
    /// Invalid or rate-limited frames tolerated before closing with 4029.
    public var maxInvalidFrames: Int = 20
    /// Frames that may wait in one connection's send queue; full → close 4008.
    public var sendQueueLength: Int = 1_024
    /// Events kept per topic for recovery (`since`) and `GET …/history`.
    public var historyLength: Int = 256
    /// Open connections per user (tenant + subject); more are closed with 4029.
    public var maxConnectionsPerUser: Int = 100
    /// Events in one `POST /events` batch.
    public var maxBatchEvents: Int = 500

    public init() {}
}
