/// A topic name: `family:id:channel`, or a family's single-segment name.
///
/// Grammar (PROTOCOL.md): segments match `[A-Za-z0-9_.-]{1,128}`, a topic is at
/// most 255 bytes and 5 segments. A segment `*` matches exactly one segment of a
/// concrete topic; the first segment (the family) is never a wildcard.
public struct Topic: Hashable, Sendable, CustomStringConvertible {
    public static let maxBytes = 255
    public static let maxSegments = 5
    public static let maxSegmentBytes = 128
    public static let wildcard = "*"

    /// The topic as written, e.g. `application:app_123:status`.
    public let rawValue: String

    /// Parses and validates a topic.
    public init(_ text: String) throws(TopicError) {
        try Topic.validate(text)
        self.rawValue = text
    }

    /// Builds a topic from segments that are already known to be valid.
    init(unchecked text: String) {
        self.rawValue = text
    }

    public var description: String { rawValue }

    public var segments: [Substring] {
        rawValue.split(separator: ":", omittingEmptySubsequences: false)
    }

    /// The first segment (`application`, `operation`, `resource`, `user`, …).
    public var family: String {
        String(rawValue.prefix { $0 != ":" })
    }

    /// True when any segment is `*`.
    public var isPattern: Bool {
        segments.contains { $0 == "*" }
    }

    /// The entity a `family:id:channel` topic is about, `nil` for other shapes.
    public var entity: EntityRef? {
        let parts = segments
        guard parts.count == 3, parts[1] != "*" else { return nil }
        return EntityRef(family: String(parts[0]), id: String(parts[1]))
    }

    /// Whether this topic (a pattern or a concrete topic) matches `concrete`.
    /// `*` matches exactly one segment; other segments match literally.
    public func matches(_ concrete: Topic) -> Bool {
        let mine = segments
        let theirs = concrete.segments
        guard mine.count == theirs.count else { return false }
        for (pattern, segment) in zip(mine, theirs) where pattern != "*" && pattern != segment {
            return false
        }
        return true
    }

    /// Every pattern that would match this concrete topic: the topic with each
    /// subset of its non-family segments replaced by `*` (at most 2^4 = 16).
    /// Used by the subscription index to find wildcard subscribers in time
    /// independent of the number of subscriptions.
    public var matchingPatterns: [Topic] {
        let parts = segments
        guard parts.count > 1 else { return [] }
        let free = parts.count - 1
        var patterns: [Topic] = []
        patterns.reserveCapacity((1 << free) - 1)
        for mask in 1..<(1 << free) {
            var text = String(parts[0])
            for index in 1..<parts.count {
                text += ":"
                text += mask & (1 << (index - 1)) != 0 ? "*" : String(parts[index])
            }
            patterns.append(Topic(unchecked: text))
        }
        return patterns
    }

    static func validate(_ text: String) throws(TopicError) {
        let bytes = text.utf8
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= maxBytes else { throw .tooLong(bytes.count) }
        var segmentCount = 1
        var segmentLength = 0
        var segmentIsStar = false
        var segmentIndex = 0
        for byte in bytes {
            if byte == UInt8(ascii: ":") {
                try finishSegment(length: segmentLength, isStar: segmentIsStar, index: segmentIndex)
                segmentCount += 1
                guard segmentCount <= maxSegments else { throw .tooManySegments }
                segmentLength = 0
                segmentIsStar = false
                segmentIndex += 1
                continue
            }
            if byte == UInt8(ascii: "*") {
                guard segmentLength == 0 else { throw .invalidCharacter }
                segmentIsStar = true
                segmentLength = 1
                continue
            }
            guard !segmentIsStar else { throw .invalidCharacter }
            guard isSegmentByte(byte) else { throw .invalidCharacter }
            segmentLength += 1
        }
        try finishSegment(length: segmentLength, isStar: segmentIsStar, index: segmentIndex)
    }

    private static func finishSegment(length: Int, isStar: Bool, index: Int) throws(TopicError) {
        guard length > 0 else { throw .emptySegment }
        guard length <= maxSegmentBytes else { throw .segmentTooLong }
        if isStar && index == 0 { throw .wildcardFamily }
    }

    private static func isSegmentByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}

extension Topic: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// An entity named by a topic: `application:app_123:status` → (`application`, `app_123`).
public struct EntityRef: Hashable, Sendable, CustomStringConvertible {
    public let family: String
    public let id: String

    public init(family: String, id: String) {
        self.family = family
        self.id = id
    }

    public var description: String { "\(family):\(id)" }
}

/// Why a topic string was refused.
public enum TopicError: Error, Equatable, Sendable {
    case empty
    case tooLong(Int)
    case tooManySegments
    case emptySegment
    case segmentTooLong
    case invalidCharacter
    case wildcardFamily
    case wildcardNotAllowed
    /// The caller's subject cannot name its own `user:notifications` topic.
    case unusableSubject

    public var message: String {
        switch self {
        case .empty: "topic is empty"
        case .tooLong(let n): "topic is \(n) bytes, the limit is \(Topic.maxBytes)"
        case .tooManySegments: "topic has more than \(Topic.maxSegments) segments"
        case .emptySegment: "topic has an empty segment"
        case .segmentTooLong: "a topic segment is longer than \(Topic.maxSegmentBytes) bytes"
        case .invalidCharacter: "topic segments may contain only A-Z a-z 0-9 _ . - (or be exactly *)"
        case .wildcardFamily: "the first segment of a topic cannot be a wildcard"
        case .wildcardNotAllowed: "wildcards are not allowed here"
        case .unusableSubject: "your subject cannot name a topic (it must match [A-Za-z0-9_.-]{1,128} and not be *)"
        }
    }
}
