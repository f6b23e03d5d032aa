import NIOCore

/// One argument of a command: text, bytes or an integer, sent as a RESP bulk
/// string. Text is sent as its UTF-8 bytes, integers in decimal.
///
/// String and integer literals convert implicitly:
/// `["SET", "counter", 1]`, `["SET", "blob", .bytes(buffer)]`.
public struct RedisArgument: Sendable, Hashable {
    enum Storage: Sendable, Hashable {
        case string(String)
        case bytes(ByteBuffer)
        case integer(Int64)
    }

    let storage: Storage

    public init(_ string: String) { storage = .string(string) }
    public init(_ bytes: ByteBuffer) { storage = .bytes(bytes) }
    public init(_ bytes: some Sequence<UInt8>) { storage = .bytes(ByteBuffer(bytes: bytes)) }
    public init(_ integer: some BinaryInteger) { storage = .integer(Int64(integer)) }

    public static func string(_ value: String) -> RedisArgument { RedisArgument(value) }
    public static func bytes(_ value: ByteBuffer) -> RedisArgument { RedisArgument(value) }
    public static func integer(_ value: some BinaryInteger) -> RedisArgument { RedisArgument(value) }

    /// The number of bytes this argument occupies as a bulk string payload.
    var byteCount: Int {
        switch storage {
        case .string(let text): text.utf8.count
        case .bytes(let buffer): buffer.readableBytes
        case .integer(let value): RESPEncoder.decimalLength(value)
        }
    }
}

extension RedisArgument: ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    public init(stringLiteral value: String) { storage = .string(value) }
}

extension RedisArgument: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { storage = .integer(value) }
}

extension RedisArgument: CustomStringConvertible {
    public var description: String {
        switch storage {
        case .string(let text): text
        case .bytes(let buffer): "<\(buffer.readableBytes) bytes>"
        case .integer(let value): String(value)
        }
    }
}
