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
    /// The key of the reader's lease (``IngestLease``): one node reads at a
    /// time, so entries are published in stream order. Default `hub:ingest:lease`.
    public var leaseKey: String
    /// How long the lease lasts unless renewed; the leader renews it before
    /// every read, so this is longer than `block` plus one batch. A dead
    /// leader's entries wait at most this long (plus `standbyPoll`). Default 5 s.
    public var leaseDuration: Duration
    /// How often a node without the lease tries to take it. Default 1 s.
    public var standbyPoll: Duration
    /// Pause after a failed publish or a lost connection (then pending entries are retried). Default 500 ms.
    public var retryDelay: Duration
    /// Whether the reader trims the stream after each batch of the entries
    /// every consumer group has acknowledged (``RedisBusScripts/trimAcknowledged``).
    /// Off only when something else bounds the stream. Default true.
    public var trimAcknowledged: Bool

    public init(
        consumer: String,
        stream: String = "hub:ingest",
        group: String = "hub",
        deadLetterStream: String = "hub:ingest:dead",
        deadLetterLength: Int = 10_000,
        batchSize: Int = 100,
        block: Duration = .seconds(1),
        leaseKey: String = "hub:ingest:lease",
        leaseDuration: Duration = .seconds(5),
        standbyPoll: Duration = .seconds(1),
        retryDelay: Duration = .milliseconds(500),
        trimAcknowledged: Bool = true
    ) {
        self.consumer = consumer
        self.stream = stream
        self.group = group
        self.deadLetterStream = deadLetterStream
        self.deadLetterLength = deadLetterLength
        self.batchSize = batchSize
        self.block = block
        self.leaseKey = leaseKey
        self.leaseDuration = leaseDuration
        self.standbyPoll = standbyPoll
        self.retryDelay = retryDelay
        self.trimAcknowledged = trimAcknowledged
    }
}
