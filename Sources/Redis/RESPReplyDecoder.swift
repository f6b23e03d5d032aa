import NIOCore

/// Parses the bytes of a connection into ``RESPValue``s with a
/// ``RESPReader``. On a protocol error or a reply over the limits it fires the
/// ``RedisError`` down the pipeline and closes the channel: after an error the
/// reader is poisoned and the stream cannot be resynchronised.
final class RESPReplyDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = RESPValue

    private let limits: RedisReplyLimits
    private var reader: RESPReader?
    private var failed = false

    init(limits: RedisReplyLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        reader = RESPReader(limits: limits, allocator: context.channel.allocator)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        reader = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed, let reader else { return }
        do {
            try reader.feed(unwrapInboundIn(data))
            while !failed, let value = try reader.next() {
                context.fireChannelRead(wrapInboundOut(value))
            }
        } catch {
            failed = true
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }
}
