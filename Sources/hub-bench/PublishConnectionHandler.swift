import NIOCore
import NIOHTTP1

/// One keep-alive publish connection: pipelined requests, responses matched in order.
final class PublishConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let publisher: Publisher
    private var context: ChannelHandlerContext?
    private var sentAt = CircularBuffer<UInt64>()
    private var status = 0
    private(set) var allocator = ByteBufferAllocator()

    var outstanding: Int { self.sentAt.count }

    init(publisher: Publisher) {
        self.publisher = publisher
    }

    func send(head: HTTPRequestHead, body: ByteBuffer, sentNanos: UInt64) {
        guard let context = self.context else { return }
        self.sentAt.append(sentNanos)
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
    }

    func close() -> EventLoopFuture<Void>? {
        guard let channel = self.context?.channel else { return nil }
        channel.close(promise: nil)
        return channel.closeFuture
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.allocator = context.channel.allocator
        if context.channel.isActive { self.publisher.connectionUp(self) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.publisher.connectionUp(self)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let lost = self.sentAt.count
        self.sentAt.removeAll()
        self.context = nil
        self.publisher.connectionDown(self, lostRequests: lost)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.status = Int(head.status.code)
        case .body:
            break
        case .end:
            guard let sent = self.sentAt.popFirst() else { return }
            self.publisher.responded(status: self.status, roundTripNanos: SystemSupport.monotonicNanos() &- sent)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
