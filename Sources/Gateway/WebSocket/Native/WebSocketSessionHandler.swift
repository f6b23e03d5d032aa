import Foundation
import Hub
import Logging
import NIOCore
import NIOWebSocket
import Protocol

/// Serves one upgraded WebSocket on its event loop: control frames, message
/// reassembly, heartbeats and the close handshake here; client messages go to
/// a `WebSocketReader` (in a short-lived task only while some are waiting);
/// the session's queue is drained here when it wakes us, as long as the socket
/// is writable (back-pressure: a full queue closes with 4008).
final class WebSocketSessionHandler: ChannelDuplexHandler, RemovableChannelHandler, HeartbeatMember {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let core: RealtimeCore
    let verifier: TokenVerifier
    let configuration: HubConfiguration
    let identity: Identity?
    let failure: TokenVerifier.Failure?
    let logger: Logger
    let batcher: DrainBatcher
    let heartbeats: HeartbeatWheel
    /// Every frame is written as bytes through this writer (see `WebSocketWire`).
    let raw: RawFrameWriter

    private var context: ChannelHandlerContext?
    private var session: Session?
    private let inbox = MessageInbox()
    private var assembler: MessageAssembler
    let deflate: PerMessageDeflate?
    private var closeSent = false
    private var awaitingPong = false
    /// The heartbeat wheel's slot while the session is on it.
    private var heartbeatSlot: Int?
    /// Swapped with the session's queue on every drain (no allocation per drain).
    private var outgoing = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    /// The channel's writability as its last change said (NIO reports a change
    /// synchronously, from the write or flush that causes it) and its
    /// allocator (for every frame the handler writes): a delivery reads them
    /// here, in the handler it touches anyway, instead of in the channel and
    /// its separate atomic.
    private var writable = false
    private var allocator = ByteBufferAllocator()
    /// The channel's core, where the pipeline's head hands every write: event
    /// frames are written here directly (the bytes are framed already, see
    /// `RawFrameWriter`), so that a delivery to a cold connection does not
    /// also touch the writer and two handler contexts on its way.
    private var channelCore: (any ChannelCore)?

    init(
        core: RealtimeCore, verifier: TokenVerifier, configuration: HubConfiguration, identity: Identity?,
        failure: TokenVerifier.Failure?, deflate: PerMessageDeflate?, logger: Logger, batcher: DrainBatcher,
        heartbeats: HeartbeatWheel, raw: RawFrameWriter
    ) {
        self.raw = raw
        self.deflate = deflate
        self.assembler = MessageAssembler(limit: WebSocketReader.transportLimit(configuration.limits), deflate: deflate)
        self.batcher = batcher
        self.heartbeats = heartbeats
        precondition(heartbeats.loop === batcher.loop, "a session's batcher and heartbeat wheel are its loop's")
        self.core = core
        self.verifier = verifier
        self.configuration = configuration
        self.identity = identity
        self.failure = failure
        self.logger = logger
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        writable = context.channel.isWritable
        allocator = context.channel.allocator
        channelCore = context.channel._channelCore
        guard let identity else {
            let failure = failure
            let code: ErrorCode = failure == .expired ? .tokenExpired : .unauthorized
            refuse(context, code: code, message: failure?.message ?? "credentials required", close: .unauthorized)
            return
        }
        let session: Session
        do {
            session = try core.registry.register(identity, executor: batcher)
        } catch .tooManyConnections(let limit) {
            refuse(context, code: .tooManyConnections, message: "at most \(limit) connections per user", close: .policyViolation)
            return
        } catch {
            let frame = ByteBuffer(bytes: ServerMessage.reconnect(reason: "server_shutdown").encoded())
            sendClose(context, code: .serviceRestart, reason: "server shutting down", before: frame)
            return
        }
        self.session = session
        session.send(
            .welcome(
                .init(
                    connectionID: session.connectionID, userID: identity.subject, tenant: identity.tenant,
                    heartbeatIntervalMS: configuration.websocket.heartbeatIntervalSeconds * 1000,
                    maxMessageBytes: configuration.limits.maxMessageBytes, expiresAt: identity.expiresAt)))
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let batcher = self.batcher
        precondition(batcher.loop === loop, "a session handler is drained by its own loop's batcher")
        session.attach(wake: { batcher.schedule(bound) }, direct: { batcher.writeNow(bound, $0) })
        heartbeatSlot = heartbeats.join(self)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
        self.context = nil
    }

    private func finish() {
        if let heartbeatSlot {
            heartbeats.leave(self, slot: heartbeatSlot)
            self.heartbeatSlot = nil
        }
        channelCore = nil
        inbox.stop()
        if let session {
            self.session = nil
            core.detach(session)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The server channel allows half-closure (Hummingbird sets it for
        // HTTP), so a peer's FIN arrives as an event, not as a close. A
        // WebSocket peer that stopped sending can no longer send its close
        // frame: the connection is over (1006 for the peer). Without this the
        // socket would sit in CLOSE-WAIT, holding its fd and its session,
        // until the next heartbeat found it gone.
        if case .inputClosed? = event as? ChannelEvent {
            context.close(promise: nil)
            return
        }
        if event is ChannelShouldQuiesceEvent {
            let frame = ByteBuffer(bytes: ServerMessage.reconnect(reason: "server_shutdown").encoded())
            session?.requestClose(.init(code: .serviceRestart, reason: "server shutting down", finalFrame: frame))
            if session == nil { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Errors of the frame decoder: a frame over the transport limit is closed
    /// with 1009, any other malformed frame with 1002; both get a close frame.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("websocket error", metadata: ["hub.error": "\(error)"])
        switch error as? NIOWebSocketError {
        case .invalidFrameLength:
            sendClose(context, code: .messageTooBig, reason: "frame too large")
        case .some:
            protocolError(context)
        case .none:
            context.close(promise: nil)
        }
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // RFC 6455 §5.1, §5.2: client frames are masked; RSV2/3 are never negotiated, RSV1 only on data frames.
        guard frame.maskKey != nil, !frame.rsv2, !frame.rsv3 else { return protocolError(context) }
        switch frame.opcode {
        case .ping:
            guard frame.fin, !frame.rsv1 else { return protocolError(context) }
            let pong = WebSocketWire.frame(opcode: WebSocketWire.pong, payload: frame.unmaskedData, allocator: allocator)
            raw.write(pong)
            raw.flush()
        case .pong:
            awaitingPong = false
        case .connectionClose:
            guard !frame.rsv1 else { return protocolError(context) }
            receivedClose(context, frame)
        case .text, .binary, .continuation:
            switch assembler.receive(frame, allocator: allocator) {
            case .partial:
                break
            case .message(let buffer, let binary):
                complete(context, buffer, binary: binary)
            case .failure(let code, let reason):
                sendClose(context, code: CloseCode(rawValue: code), reason: reason)
            }
        default:
            protocolError(context)
        }
    }

    private func complete(_ context: ChannelHandlerContext, _ buffer: ByteBuffer, binary: Bool) {
        guard let session, !closeSent else { return }
        let bytes = Array(buffer.readableBytesView)
        if !binary, String(validating: bytes, as: UTF8.self) == nil {
            return sendClose(context, code: CloseCode(rawValue: 1007), reason: "invalid UTF-8")
        }
        guard inbox.push(.init(bytes: bytes, binary: binary)) else { return }
        let reader = WebSocketReader(
            core: core, verifier: verifier, limits: configuration.limits, session: session,
            logger: logger.with(connection: session.connectionID))
        let inbox = self.inbox
        // A short-lived task drains the messages that arrived; it ends when the inbox is empty.
        Task {
            while let message = inbox.pop() {
                guard await reader.handle(bytes: message.bytes, binary: message.binary) else {
                    inbox.stop()
                    return
                }
            }
        }
    }

    private func receivedClose(_ context: ChannelHandlerContext, _ frame: WebSocketFrame) {
        if closeSent {
            context.close(promise: nil)
            return
        }
        var data = frame.unmaskedData
        let code = data.readInteger(as: UInt16.self) ?? 1000
        closeSent = true
        writeThenClose(WebSocketWire.closeFrame(code: code, allocator: allocator), context)
    }

    /// Writes `frame` and closes the channel once it is written (closing at
    /// once would drop it if the socket is full). On the channel's loop, where
    /// the write's future completes too.
    private func writeThenClose(_ frame: ByteBuffer, _ context: ChannelHandlerContext) {
        if let written = raw.writeAndFlush(frame) {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }

    private func protocolError(_ context: ChannelHandlerContext) {
        sendClose(context, code: CloseCode(rawValue: 1002), reason: "protocol error")
    }

    // MARK: Writing

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writable = context.channel.isWritable
        if writable { drain() }
        context.fireChannelWritabilityChanged()
    }

    /// Writes what the session has, while the socket takes it.
    func drain() {
        guard let context, let session, !closeSent else { return }
        guard writable || session.isClosing else { return }
        let close = session.take(swapping: &outgoing)
        let wrote = !outgoing.isEmpty
        for frame in outgoing { raw.write(framed(frame)) }
        if outgoing.capacity > 64 {
            outgoing = CircularBuffer(initialCapacity: 4)
        } else {
            outgoing.removeAll(keepingCapacity: true)
        }
        if let close {
            sendClose(context, code: close.code, reason: close.reason, before: close.finalFrame)
        } else if wrote {
            raw.flush()
        }
    }

    /// A live event frame that found the session's queue empty, written at
    /// once (see `Session.attach`): `false` when the socket is full or the
    /// connection is closing, and the session queues it instead.
    func writeNow(_ frame: ByteBuffer) -> Bool {
        guard let channelCore, session != nil, !closeSent, writable else { return false }
        channelCore.write0(NIOAny(framed(frame)), promise: nil)
        channelCore.flush0()
        return true
    }

    /// One message as a text frame (from the loop's cache), compressed when negotiated and large enough.
    private func framed(_ frame: ByteBuffer) -> ByteBuffer {
        if let deflate, frame.readableBytes >= configuration.websocket.compressionMinBytes {
            return batcher.frames.value.compressedTextFrame(frame, windowBits: deflate.serverWindowBits, allocator: allocator)
        }
        return batcher.frames.value.textFrame(frame, allocator: allocator)
    }

    /// How long the peer has to answer a close frame once it is on the wire.
    static let closeTimeout = TimeAmount.seconds(5)
    /// How long a close frame may wait behind frames the peer has not read yet
    /// (a slow consumer still gets its 4008 if it reads within this time).
    static let closeDeadline = TimeAmount.seconds(30)

    /// Sends `before` (if any) and a close frame, then closes the channel when
    /// the peer answers, `closeTimeout` after the close frame was written, or
    /// at `closeDeadline` whatever happens.
    private func sendClose(_ context: ChannelHandlerContext, code: CloseCode, reason: String, before: ByteBuffer? = nil) {
        guard !closeSent else { return }
        closeSent = true
        if let before {
            raw.write(WebSocketWire.frame(opcode: WebSocketWire.text, payload: before, allocator: allocator))
        }
        let channel = context.channel
        let loop = context.eventLoop
        // The timeout starts when the frame reached the socket, not when it was queued behind a backlog.
        raw.writeAndFlush(WebSocketWire.closeFrame(code: code.rawValue, reason: reason, allocator: allocator))?.whenSuccess {
            loop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
        }
        loop.scheduleTask(in: Self.closeDeadline) { channel.close(promise: nil) }
    }

    private func refuse(_ context: ChannelHandlerContext, code: ErrorCode, message: String, close: CloseCode) {
        let frame = ServerMessage.error(.init(id: nil, code: code, message: message)).encoded()
        sendClose(context, code: close, reason: message, before: ByteBuffer(bytes: frame))
    }

    // MARK: Heartbeat

    /// Pings the peer; a peer that has not answered the previous ping is gone.
    func beat() {
        guard let context, !closeSent else { return }
        if awaitingPong {
            logger.debug("websocket peer missed a heartbeat")
            closeSent = true
            writeThenClose(WebSocketWire.closeFrame(code: 1001, reason: "heartbeat missed", allocator: allocator), context)
            context.eventLoop.scheduleTask(in: .seconds(1)) { [channel = context.channel] in channel.close(promise: nil) }
            return
        }
        awaitingPong = true
        let ping = WebSocketWire.frame(opcode: WebSocketWire.ping, payload: ByteBuffer(), allocator: allocator)
        raw.write(ping)
        raw.flush()
    }
}
