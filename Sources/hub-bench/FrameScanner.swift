import Glibc

/// Finds the few fields the bench needs in a text frame by scanning its bytes, without a JSON
/// decoder (a full decode per frame would make the bench the bottleneck). Tolerates whitespace
/// around `:` and any key order, as a server may re-serialise the JSON.
enum FrameScanner {
    enum Kind: Equatable {
        case welcome
        /// `subscribed`; `denied` is true when the `denied` array is not empty.
        case subscribed(denied: Bool)
        /// `error` with its `code` (or "?").
        case error(code: String)
        /// An `event` without the bench's `seq`/`sent_ns` (someone else's event).
        case foreignEvent
        case other
    }

    struct Event {
        var seq: Int64
        var sentNanos: UInt64
    }

    private static let seqKey = Array("\"seq\"".utf8)
    private static let sentKey = Array("\"sent_ns\"".utf8)
    private static let typeKey = Array("\"type\"".utf8)
    private static let deniedKey = Array("\"denied\"".utf8)
    private static let codeKey = Array("\"code\"".utf8)

    /// The bench event carried by this frame, if it is one.
    static func event(in raw: UnsafeRawBufferPointer) -> Event? {
        guard let sentAt = valueIndex(of: sentKey, in: raw),
            let sent = parseInteger(raw, at: sentAt), sent >= 0,
            let seqAt = valueIndex(of: seqKey, in: raw),
            let seq = parseInteger(raw, at: seqAt)
        else { return nil }
        return Event(seq: seq, sentNanos: UInt64(sent))
    }

    /// The `type` of a non-bench frame.
    static func kind(of raw: UnsafeRawBufferPointer) -> Kind {
        guard let at = valueIndex(of: typeKey, in: raw), let type = stringValue(raw, at: at) else { return .other }
        switch type {
        case "welcome":
            return .welcome
        case "subscribed":
            guard let deniedAt = valueIndex(of: deniedKey, in: raw) else { return .subscribed(denied: false) }
            var i = deniedAt
            guard i < raw.count, raw[i] == UInt8(ascii: "[") else { return .subscribed(denied: false) }
            i += 1
            while i < raw.count, isSpace(raw[i]) { i += 1 }
            return .subscribed(denied: !(i < raw.count && raw[i] == UInt8(ascii: "]")))
        case "error":
            let code = valueIndex(of: codeKey, in: raw).flatMap { stringValue(raw, at: $0) } ?? "?"
            return .error(code: code)
        case "event":
            return .foreignEvent
        default:
            return .other
        }
    }

    /// Index of the first byte of the value of `"key"` (after the colon and whitespace).
    static func valueIndex(of key: [UInt8], in raw: UnsafeRawBufferPointer) -> Int? {
        guard raw.count >= key.count else { return nil }
        var searchFrom = 0
        while searchFrom < raw.count {
            guard let found = find(key, in: raw, from: searchFrom) else { return nil }
            var i = found + key.count
            while i < raw.count, isSpace(raw[i]) { i += 1 }
            if i < raw.count, raw[i] == UInt8(ascii: ":") {
                i += 1
                while i < raw.count, isSpace(raw[i]) { i += 1 }
                return i
            }
            // The key text appeared as a value, not as a key: keep looking.
            searchFrom = i
        }
        return nil
    }

    /// Offset of `key` in `raw` at or after `start` (memchr for the first byte, then memcmp).
    static func find(_ key: [UInt8], in raw: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = raw.baseAddress, !key.isEmpty else { return nil }
        let first = Int32(key[0])
        var i = start
        return key.withUnsafeBytes { keyBytes -> Int? in
            while i + key.count <= raw.count {
                guard let hit = memchr(base + i, first, raw.count - key.count + 1 - i) else { return nil }
                let at = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(base + at, keyBytes.baseAddress!, key.count) == 0 { return at }
                i = at + 1
            }
            return nil
        }
    }

    /// Parses an optional `-` and decimal digits at `index`.
    static func parseInteger(_ raw: UnsafeRawBufferPointer, at index: Int) -> Int64? {
        var i = index
        var negative = false
        if i < raw.count, raw[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        var value: Int64 = 0
        var digits = 0
        while i < raw.count, raw[i] >= UInt8(ascii: "0"), raw[i] <= UInt8(ascii: "9"), digits < 19 {
            value = value * 10 + Int64(raw[i] - UInt8(ascii: "0"))
            digits += 1
            i += 1
        }
        guard digits > 0 else { return nil }
        return negative ? -value : value
    }

    /// A JSON string value without escapes (enough for `type` and `code`).
    static func stringValue(_ raw: UnsafeRawBufferPointer, at index: Int) -> String? {
        guard index < raw.count, raw[index] == UInt8(ascii: "\"") else { return nil }
        var end = index + 1
        while end < raw.count, raw[end] != UInt8(ascii: "\"") { end += 1 }
        guard end < raw.count else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: raw[(index + 1)..<end]), as: UTF8.self)
    }

    @inline(__always)
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
