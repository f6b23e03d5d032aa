import NIOCore
import NIOHTTP1

/// Told about the responses of a `KeepAliveConnection` (on its event loop).
protocol KeepAliveDelegate: AnyObject {
    /// The response to the request sent with `tag`.
    func connection(_ connection: KeepAliveConnection, answered tag: Int, _ response: HTTPResponseSummary)
    /// The connection ended; `unanswered` are the tags of the requests still waiting, oldest first.
    func connectionClosed(_ connection: KeepAliveConnection, unanswered: [Int])
}

/// One keep-alive HTTP/1.1 client connection: requests may be pipelined, responses are matched
/// to them in order. Lives on its channel's event loop; so does its delegate.
final class KeepAliveConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private struct Pending {
        var tag: Int
        var sentNanos: UInt64
    }

    let index: Int
    weak var delegate: (any KeepAliveDelegate)?
    /// Keep the start of error bodies (status ≥ 400) in `HTTPResponseSummary.bodySample`.
    var sampleErrorBodies = true

    private var context: ChannelHandlerContext?
    private var pending = CircularBuffer<Pending>(initialCapacity: 4)
    private var current = HTTPResponseSummary()
    private var closedReported = false

    init(index: Int) {
        self.index = index
    }

    /// Requests written and not yet answered.
    var outstanding: Int { self.pending.count }
    var isActive: Bool { self.context?.channel.isActive ?? false }
    var allocator: ByteBufferAllocator { self.context?.channel.allocator ?? ByteBufferAllocator() }

    /// Writes one request (head, optional body, end) and flushes. `written`, if given, completes
    /// when the bytes are handed to the kernel. Returns false when the connection is gone.
    @discardableResult
    func send(_ head: HTTPRequestHead, body: ByteBuffer? = nil, tag: Int, written: EventLoopPromise<Void>? = nil) -> Bool {
        guard let context = self.context, context.channel.isActive else {
            written?.fail(ChannelError.ioOnClosedChannel)
            return false
        }
        let sent = SystemSupport.monotonicNanos()
        self.pending.append(Pending(tag: tag, sentNanos: sent))
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: written)
        return true
    }

    /// Closes the connection; its close future (nil when it is not open).
    func close() -> EventLoopFuture<Void>? {
        guard let channel = self.context?.channel else { return nil }
        channel.close(promise: nil)
        return channel.closeFuture
    }

    // MARK: ChannelInboundHandler

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.reportClosed()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.reportClosed()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            let now = SystemSupport.monotonicNanos()
            var summary = HTTPResponseSummary()
            summary.status = Int(head.status.code)
            summary.headNanos = now
            summary.sentNanos = self.pending.first?.sentNanos ?? now
            if let etag = head.headers.first(name: "etag") { summary.version = HTTPResponseSummary.version(fromETag: etag) }
            if summary.status == 201, let location = head.headers.first(name: "location"),
                let slash = location.lastIndex(of: "/")
            {
                summary.locationID = String(location[location.index(after: slash)...])
            }
            self.current = summary
        case .body(let buffer):
            self.current.bodyBytes += buffer.readableBytes
            if self.sampleErrorBodies, self.current.status >= 400, (self.current.bodySample?.utf8.count ?? 0) < 300 {
                self.current.bodySample = (self.current.bodySample ?? "") + String(buffer: buffer)
            }
        case .end:
            self.current.endNanos = SystemSupport.monotonicNanos()
            guard let request = self.pending.popFirst() else { return }
            let response = self.current
            self.current = HTTPResponseSummary()
            self.delegate?.connection(self, answered: request.tag, response)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func reportClosed() {
        guard !self.closedReported else { return }
        self.closedReported = true
        let unanswered = self.pending.map(\.tag)
        self.pending.removeAll()
        self.delegate?.connectionClosed(self, unanswered: unanswered)
    }
}
