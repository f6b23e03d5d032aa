import Protocol

/// A Redis stream entry id, `ms-seq`, ordered as Redis orders them.
struct StreamID: Comparable, Hashable, Sendable, CustomStringConvertible {
    var ms: UInt64
    var seq: UInt64

    static let zero = StreamID(ms: 0, seq: 0)

    init(ms: UInt64, seq: UInt64) {
        self.ms = ms
        self.seq = seq
    }

    /// Parses `ms-seq` (a bare `ms` means `ms-0`).
    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let ms = UInt64(parts[0]) else { return nil }
        var seq: UInt64 = 0
        if parts.count == 2 {
            guard let value = UInt64(parts[1]) else { return nil }
            seq = value
        }
        self.init(ms: ms, seq: seq)
    }

    init(_ offset: Offset) {
        self.init(ms: offset.major, seq: offset.minor)
    }

    var description: String { "\(ms)-\(seq)" }

    static func < (lhs: StreamID, rhs: StreamID) -> Bool {
        (lhs.ms, lhs.seq) < (rhs.ms, rhs.seq)
    }
}
