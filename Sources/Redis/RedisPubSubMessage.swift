import NIOCore

/// A message published on a channel the subscriber listens to.
public struct RedisPubSubMessage: Sendable, Hashable {
    /// The channel it was published on.
    public let channel: String
    /// The pattern it matched, for a `PSUBSCRIBE` subscription; nil for `SUBSCRIBE`.
    public let pattern: String?
    /// The published bytes, as they were published.
    public let payload: ByteBuffer

    public init(channel: String, pattern: String? = nil, payload: ByteBuffer) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }
}
