/// How an ``IngestConsumer`` reads `hub:ingest`. Every field but `consumer` has a default.
public struct IngestConsumerConfiguration: Sendable, Equatable {
    /// This consumer's name in the group: the node id. Required; unique per live node.
    public var consumer: String
    /// The stream backends write to. Default `hub:ingest`.
    public var stream: String
    /// The consumer group, created (with `MKSTREAM`, from the stream's first
    /// entry) when missing. Default `hub`.
    public var group: String
    /// Where malformed entries are copied, with the reason. Default `hub:ingest:dead`.
    public var deadLetterStream: String
    /// `MAXLEN ~` of the dead-letter stream. Default 10,000.
    public var deadLetterLength: Int
    /// Entries read per request. Default 100.
    public var batchSize: Int
    /// How long one `XREADGROUP … BLOCK` waits for new entries; also the
    /// longest a graceful shutdown waits for the consumer. Default 1 s.
    public var block: Duration
    /// Pending entries idle this long belong to a dead consumer and are claimed
    /// (`XAUTOCLAIM`). Longer than the slowest publish. Default 30 s.
    public var claimMinIdle: Duration
    /// How often the pending entries of other consumers are scanned. Default 5 s.
    public var claimInterval: Duration
    /// Pause after a failed publish or a lost connection (then pending entries are retried). Default 500 ms.
    public var retryDelay: Duration

    public init(
        consumer: String,
        stream: String = "hub:ingest",
        group: String = "hub",
        deadLetterStream: String = "hub:ingest:dead",
        deadLetterLength: Int = 10_000,
        batchSize: Int = 100,
        block: Duration = .seconds(1),
        claimMinIdle: Duration = .seconds(30),
        claimInterval: Duration = .seconds(5),
        retryDelay: Duration = .milliseconds(500)
    ) {
        self.consumer = consumer
        self.stream = stream
        self.group = group
        self.deadLetterStream = deadLetterStream
        self.deadLetterLength = deadLetterLength
        self.batchSize = batchSize
        self.block = block
        self.claimMinIdle = claimMinIdle
        self.claimInterval = claimInterval
        self.retryDelay = retryDelay
    }
}
