import Histogram
import NIOCore
import NIOWebSocket

/// One subscriber connection after the HTTP upgrade: waits for `welcome`, subscribes to its topic,
/// then scans every event frame for the bench's `seq`/`sent_ns`. All state lives here, on the
/// channel's event loop; totals go to the loop's `LoopStats` (no lock on the receive path).
final class WebSocketClientHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private enum State {
        case connecting, awaitingWelcome, awaitingSubscribed, subscribed, failed, closing, closed
    }

    let index: Int
    private let topic: String
    private let expectation: Expectation
    private let stats: LoopStats
    private let connectStartNanos: UInt64
    /// Called exactly once, when the handshake succeeded (subscribed) or failed.
    private let onHandshakeFinished: () -> Void

    private var state: State = .connecting
    private var handshakeReported = false
    private(set) var isSubscribedOnce = false
    private var timeout: Scheduled<Void>?
    private var channel: (any Channel)?
    private var context: ChannelHandlerContext?
    private var fragments: ByteBuffer?
    private var closeCode: Int?

    /// One bit per message this connection should receive (see `Expectation.localIndex`).
    private var seen: [UInt64] = []
    private(set) var uniqueReceived = 0
    private var highestSeq: Int64 = -1
    private(set) var gotWarmup = false

    init(
        index: Int,
        topic: String,
        expectation: Expectation,
        stats: LoopStats,
        connectStartNanos: UInt64,
        onHandshakeFinished: @escaping () -> Void
    ) {
        self.index = index
        self.topic = topic
        self.expectation = expectation
        self.stats = stats
        self.connectStartNanos = connectStartNanos
        self.onHandshakeFinished = onHandshakeFinished
        if connectStartNanos < stats.firstConnectNanos { stats.firstConnectNanos = connectStartNanos }
    }

    // MARK: driven by ConnectionLauncher (on the channel's loop)

    func connected(_ channel: any Channel, handshakeTimeout: TimeAmount) {
        self.channel = channel
        channel.closeFuture.assumeIsolated().whenComplete { _ in self.channelClosed() }
        if !self.handshakeReported {
            self.timeout = channel.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) {
                self.failHandshake("handshake timeout")
            }
        }
    }

    func failHandshake(_ reason: String) {
        guard !self.handshakeReported else { return }
        self.handshakeReported = true
        self.state = .failed
        self.timeout?.cancel()
        self.timeout = nil
        self.stats.recordFailure(reason)
        self.onHandshakeFinished()
        self.channel?.close(promise: nil)
    }

    /// Sends a close frame (1000) and closes; returns the channel's close future, if connected.
    func closeGracefully() -> EventLoopFuture<Void>? {
        guard let channel = self.channel else { return nil }
        switch self.state {
        case .subscribed, .awaitingWelcome, .awaitingSubscribed:
            self.state = .closing
            if let context = self.context {
                var payload = context.channel.allocator.buffer(capacity: 2)
                payload.write(webSocketErrorCode: .normalClosure)
                let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: payload)
                context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
            }
            channel.close(promise: nil)
        case .connecting, .failed, .closing:
            self.state = .closing
            channel.close(promise: nil)
        case .closed:
            break
        }
        return channel.closeFuture
    }

    private func channelClosed() {
        self.timeout?.cancel()
        self.timeout = nil
        switch self.state {
        case .connecting, .awaitingWelcome, .awaitingSubscribed:
            self.failHandshake(self.closeCode.map { "closed by server during handshake (code \($0))" } ?? "connection closed during handshake")
        case .subscribed:
            self.stats.closedByServer += 1
            self.stats.closeCodes[self.closeCode ?? 1006, default: 0] += 1
        case .failed, .closing, .closed:
            break
        }
        self.state = .closed
        self.channel = nil
    }

    // MARK: ChannelInboundHandler

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if self.state == .connecting { self.state = .awaitingWelcome }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            if frame.fin {
                self.handleMessage(frame.maskKey == nil ? frame.data : frame.unmaskedData)
            } else {
                self.fragments = frame.unmaskedData
            }
        case .continuation:
            guard var buffered = self.fragments else { return }
            var more = frame.unmaskedData
            buffered.writeBuffer(&more)
            if frame.fin {
                self.fragments = nil
                self.handleMessage(buffered)
            } else {
                self.fragments = buffered
            }
        case .ping:
            self.stats.frames.pings += 1
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(Self.wrapOutboundOut(pong), promise: nil)
        case .pong:
            self.stats.frames.pongs += 1
        case .connectionClose:
            self.serverClosed(context: context, frame: frame)
        default:
            self.stats.frames.other += 1
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !self.handshakeReported { self.failHandshake("error: \(error)") }
        context.close(promise: nil)
    }

    // MARK: frames

    private func serverClosed(context: ChannelHandlerContext, frame: WebSocketFrame) {
        var payload = frame.unmaskedData
        if self.state != .closing {
            if let code = payload.getInteger(at: payload.readerIndex, as: UInt16.self) {
                self.closeCode = Int(code)
            }
            // Answer the close handshake (echo the code), then close.
            var reply = context.channel.allocator.buffer(capacity: 2)
            if payload.readableBytes >= 2, let code = payload.readInteger(as: UInt16.self) {
                reply.writeInteger(code)
            }
            let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: reply)
            context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
        }
        context.close(promise: nil)
    }

    private func handleMessage(_ buffer: ByteBuffer) {
        let now = SystemSupport.monotonicNanos()
        let event = buffer.withUnsafeReadableBytes { FrameScanner.event(in: $0) }
        if let event {
            self.handleEvent(event, receivedAt: now)
            return
        }
        let kind = buffer.withUnsafeReadableBytes { FrameScanner.kind(of: $0) }
        switch kind {
        case .welcome:
            self.stats.frames.welcome += 1
            if self.state == .awaitingWelcome {
                self.state = .awaitingSubscribed
                self.sendText("{\"type\":\"subscribe\",\"id\":\"1\",\"topics\":[\"\(self.topic)\"]}")
            }
        case .subscribed(let denied):
            self.stats.frames.subscribed += 1
            guard self.state == .awaitingSubscribed else { return }
            if denied {
                self.failHandshake("subscribe denied")
            } else {
                self.subscribed(at: now)
            }
        case .error(let code):
            self.stats.frames.errors += 1
            if !self.handshakeReported { self.failHandshake("error frame \(code)") }
        case .foreignEvent:
            self.stats.frames.foreignEvents += 1
        case .other:
            self.stats.frames.other += 1
        }
    }

    private func subscribed(at now: UInt64) {
        self.state = .subscribed
        self.isSubscribedOnce = true
        self.handshakeReported = true
        self.timeout?.cancel()
        self.timeout = nil
        self.seen = [UInt64](repeating: 0, count: (self.expectation.count(for: self.index) + 63) / 64)
        let stats = self.stats
        stats.subscribed += 1
        _ = stats.handshake.record(min((now &- self.connectStartNanos) / 1000, 600_000_000))
        if now > stats.lastSubscribedNanos { stats.lastSubscribedNanos = now }
        self.onHandshakeFinished()
    }

    @inline(__always)
    private func handleEvent(_ event: FrameScanner.Event, receivedAt now: UInt64) {
        let stats = self.stats
        stats.frames.events += 1
        if now > stats.lastEventNanos { stats.lastEventNanos = now }
        if event.seq < 0 {
            if !self.gotWarmup {
                self.gotWarmup = true
                stats.warmupReceived += 1
            }
            return
        }
        guard let local = self.expectation.localIndex(seq: event.seq, for: self.index), local >> 6 < self.seen.count else {
            stats.unexpected += 1
            return
        }
        let word = local >> 6
        let bit = UInt64(1) << UInt64(local & 63)
        if self.seen[word] & bit != 0 {
            stats.duplicates += 1
            return
        }
        self.seen[word] |= bit
        self.uniqueReceived += 1
        stats.unique += 1
        if event.seq < self.highestSeq {
            stats.outOfOrder += 1
        } else {
            self.highestSeq = event.seq
        }
        if now < stats.firstEventNanos { stats.firstEventNanos = now }
        let micros = now > event.sentNanos ? (now - event.sentNanos) / 1000 : 0
        _ = stats.latency.record(min(micros, 3_600_000_000))
    }

    private func sendText(_ text: String) {
        guard let context = self.context else { return }
        let frame = WebSocketFrame(
            fin: true,
            opcode: .text,
            maskKey: .random(),
            data: context.channel.allocator.buffer(string: text)
        )
        context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
    }
}
