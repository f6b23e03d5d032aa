/// The position of an event in its topic's history.
///
/// On the wire an offset is an opaque string, increasing per topic. It names
/// the history *epoch* as well as the position: `"<epoch>:<major>"` or
/// `"<epoch>:<major>-<minor>"` (the Redis form, where the position is a stream
/// id). Two offsets of different epochs are not comparable: a `since` from
/// another epoch can only be answered with `resync`.
public struct Offset: Hashable, Sendable, CustomStringConvertible {
    public let epoch: String
    public let major: UInt64
    public let minor: UInt64

    public init(epoch: String, major: UInt64, minor: UInt64 = 0) {
        self.epoch = epoch
        self.major = major
        self.minor = minor
    }

    /// Parses the wire form; `nil` for anything malformed.
    public init?(_ text: String) {
        guard text.utf8.count <= 96, let colon = text.firstIndex(of: ":") else { return nil }
        let epoch = text[..<colon]
        let position = text[text.index(after: colon)...]
        guard !epoch.isEmpty, epoch.utf8.allSatisfy(Offset.isEpochByte) else { return nil }
        let parts = position.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        guard let major = Offset.number(parts[0]) else { return nil }
        var minor: UInt64 = 0
        if parts.count == 2 {
            guard let value = Offset.number(parts[1]) else { return nil }
            minor = value
        }
        self.init(epoch: String(epoch), major: major, minor: minor)
    }

    public var description: String {
        minor == 0 && !epochUsesStreamIDs ? "\(epoch):\(major)" : "\(epoch):\(major)-\(minor)"
    }

    /// Redis epochs are prefixed `r`; their positions are stream ids and are always written `ms-seq`.
    private var epochUsesStreamIDs: Bool { epoch.hasPrefix("r") }

    /// Whether `self` comes after `other` in the same epoch. `nil` across epochs.
    public func isAfter(_ other: Offset) -> Bool? {
        guard epoch == other.epoch else { return nil }
        return (major, minor) > (other.major, other.minor)
    }

    /// A decimal number written only with ASCII digits (no sign: `UInt64("+5")`
    /// would accept one, giving one position two wire spellings).
    static func number(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return UInt64(text)
    }

    static func isEpochByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: false
        }
    }
}

extension Offset: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let offset = Offset(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "malformed offset"))
        }
        self = offset
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
