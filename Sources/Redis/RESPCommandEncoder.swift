import NIOCore

/// Encodes outbound ``RedisCommand``s (used where commands are written
/// through an `NIOAsyncChannel`, as on the subscriber connection).
struct RESPCommandEncoder: MessageToByteEncoder {
    typealias OutboundIn = RedisCommand

    func encode(data: RedisCommand, out: inout ByteBuffer) {
        out.reserveCapacity(minimumWritableBytes: RESPEncoder.estimatedSize(of: data))
        RESPEncoder.encode(data, into: &out)
    }
}
