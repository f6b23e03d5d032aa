/// The configurable limits and intervals of the operations capability
/// (`operations.*` in the configuration; see Docs/configuration.md). Each
/// has a default and a test at the limit.
public struct OperationSettings: Sendable, Equatable {
    /// How long finished operations are kept before the retention sweep deletes them.
    public var retentionSeconds: Int = 7 * 86_400
    /// Log lines kept per operation; older lines are dropped and counted.
    public var logLinesPerOperation: Int = 10_000
    /// Longest log line accepted (bytes of UTF-8); longer → `VALIDATION_ERROR`.
    public var maxLogLineBytes: Int = 16_384
    /// Largest request body of the operations routes; larger → 413.
    public var maxBodyBytes: Int = 1 << 20
    /// Largest `wait_seconds` of a long-poll; larger → `VALIDATION_ERROR`.
    public var maxWaitSeconds: Int = 60
    /// Default and largest `per_page` of `GET /operations`.
    public var defaultPageSize: Int = 50
    public var maxPageSize: Int = 200
    /// Largest `limit` of `GET /operations/{id}/logs`.
    public var maxLogPageSize: Int = 1_000
    /// `Retry-After` of a non-terminal operation: the suggested poll interval.
    public var pollIntervalSeconds: Int = 2
    /// Heartbeat timeout of operations created without one (`nil`: none).
    public var defaultHeartbeatTimeoutSeconds: Int?
    /// How often running operations are checked for a silent worker.
    public var heartbeatCheckIntervalSeconds: Int = 1
    /// How often the retention sweep runs.
    public var retentionSweepIntervalSeconds: Int = 60
    /// How long an idempotency key is remembered.
    public var idempotencyKeyTTLSeconds: Int = 86_400
    /// How long an unfinished first request holds its idempotency key before
    /// it is presumed dead and the key can be claimed again.
    public var idempotencyLeaseSeconds: Int = 60
    /// A log follower with nothing to send writes a keep-alive line this often.
    public var followKeepAliveSeconds: Int = 15
    /// Operations kept in memory for reads (0: every read goes to the store).
    /// Only with a store of this node alone: with Redis (shared by several
    /// nodes) every read goes to Redis, whatever this says.
    public var cacheSize: Int = 10_000
    /// Whether a connection whose first request is a plain long-poll is
    /// parked in a channel handler (a few KiB) instead of a request task
    /// (~48 KiB), and answered with `Connection: close`.
    public var parkLongPolls = true
    /// Distributed mode: a change's write lock in Redis expires this long
    /// after it was taken unless released (a node that dies holding it
    /// blocks that operation's changes this long).
    public var writeLockTTLSeconds: Int = 10
    /// Distributed mode: how long a change waits for another node's write
    /// lock before it answers `SERVICE_UNAVAILABLE` (503).
    public var writeLockWaitSeconds: Int = 10

    public init() {}
}
