import NIOCore

/// One RESP2 reply, deep-copied out of the parser: it holds no pointers into
/// C memory and can be passed between tasks.
///
/// RESP2 has two kinds of nil: a nil bulk string (`$-1`, e.g. `GET` of a
/// missing key) and a nil array (`*-1`, e.g. `BLPOP` timing out or an aborted
/// `EXEC`). They are kept apart as `.bulkString(nil)` and `.array(nil)`.
public enum RESPValue: Sendable, Hashable {
    /// `+OK`: a status reply (never binary).
    case simpleString(String)
    /// `-ERR message`: an error reply, kept as a value (``RedisClient/send(_:)``
    /// throws it as ``RedisError/Code/serverError``; in a pipeline or inside
    /// an array it stays a value).
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$3\r\nfoo` (binary-safe), or `$-1` as nil.
    case bulkString(ByteBuffer?)
    /// `*2\r\n…`, or `*-1` as nil.
    case array([RESPValue]?)
}

extension RESPValue: CustomStringConvertible {
    /// A short rendering for logs and test failures; bulk strings show as
    /// text when they are valid UTF-8 and not longer than 64 bytes.
    public var description: String {
        switch self {
        case .simpleString(let text): return "+\(text)"
        case .error(let text): return "-\(text)"
        case .integer(let value): return ":\(value)"
        case .bulkString(nil): return "$nil"
        case .bulkString(let buffer?):
            if buffer.readableBytes <= 64, let text = try? buffer.getUTF8ValidatedString(at: buffer.readerIndex, length: buffer.readableBytes) {
                return "$\"\(text)\""
            }
            return "$<\(buffer.readableBytes) bytes>"
        case .array(nil): return "*nil"
        case .array(let values?): return "[" + values.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
