/// Bounds on what the client accepts from the server. hiredis trusts the
/// sizes the server declares; these limits are enforced on top of it so that
/// a broken or hostile server cannot make a connection buffer without bound.
/// A reply over a limit fails with ``RedisError/Code/replyTooLarge`` and the
/// connection is closed (the rest of the stream cannot be trusted).
public struct RedisReplyLimits: Sendable, Hashable {
    /// The largest reply, counted as the bytes it takes on the wire with all
    /// nested elements. Default 128 MiB.
    public var maxReplyBytes: Int
    /// The longest bulk string. Checked as soon as its length line arrives,
    /// before its bytes are buffered. Default 64 MiB.
    public var maxBulkLength: Int
    /// The most elements one array may declare. Checked before hiredis
    /// allocates the element table. Default 4 Mi.
    public var maxArrayElements: Int
    /// Unused space hiredis keeps in its read buffer once everything in it
    /// was consumed (hiredis's `maxbuf`); 0 keeps the largest buffer ever
    /// seen. Default 16 KiB, hiredis's own default.
    public var maxUnusedBuffer: Int

    public init(
        maxReplyBytes: Int = 128 << 20,
        maxBulkLength: Int = 64 << 20,
        maxArrayElements: Int = 4 << 20,
        maxUnusedBuffer: Int = 16 << 10
    ) {
        self.maxReplyBytes = maxReplyBytes
        self.maxBulkLength = maxBulkLength
        self.maxArrayElements = maxArrayElements
        self.maxUnusedBuffer = maxUnusedBuffer
    }
}
