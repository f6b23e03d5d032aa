import Foundation

/// One line of an operation's log. Sequence numbers start at 1 and increase
/// by one per line, per operation; they are never reused.
public struct LogLine: Sendable, Hashable, Codable {
    public var sequence: Int
    public var timestamp: Date
    public var text: String

    public init(sequence: Int, timestamp: Date, text: String) {
        self.sequence = sequence
        self.timestamp = timestamp
        self.text = text
    }
}

/// A page of log lines after a sequence number.
public struct LogPage: Sendable, Hashable {
    /// Lines with `sequence > after`, oldest first, at most `limit`.
    public var lines: [LogLine]
    /// The sequence number of the last line ever appended (0: none).
    public var lastSequence: Int
    /// Lines dropped so far because of the per-operation cap (the oldest ones).
    public var dropped: Int
    /// True when lines after the requested sequence were dropped before they could be read.
    public var gap: Bool
    /// True when `limit` cut the page short.
    public var hasMore: Bool

    public init(lines: [LogLine], lastSequence: Int, dropped: Int, gap: Bool, hasMore: Bool) {
        self.lines = lines
        self.lastSequence = lastSequence
        self.dropped = dropped
        self.gap = gap
        self.hasMore = hasMore
    }
}
