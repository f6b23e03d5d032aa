import NIOCore

extension RESPValue {
    /// The text of a simple string or a UTF-8 bulk string; nil otherwise.
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let buffer?): return String(buffer: buffer)
        default: return nil
        }
    }

    /// The bytes of a bulk string (or of a simple string); nil otherwise.
    public var bytes: ByteBuffer? {
        switch self {
        case .bulkString(let buffer): return buffer
        case .simpleString(let text): return ByteBuffer(string: text)
        default: return nil
        }
    }

    /// An integer reply, or a bulk string holding a decimal integer.
    public var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulkString(let buffer?): return Int64(String(buffer: buffer))
        default: return nil
        }
    }

    /// The elements of a non-nil array.
    public var array: [RESPValue]? {
        if case .array(let values?) = self { return values }
        return nil
    }

    /// Whether this is a nil bulk string or a nil array.
    public var isNil: Bool {
        switch self {
        case .bulkString(nil), .array(nil): return true
        default: return false
        }
    }

    /// The message of an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    /// This value, or ``RedisError/Code/serverError`` when it is an error reply.
    public func throwingServerError() throws(RedisError) -> RESPValue {
        if case .error(let message) = self { throw RedisError(.serverError, message) }
        return self
    }
}
