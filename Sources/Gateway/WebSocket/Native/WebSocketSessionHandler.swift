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
final class WebSocketSessionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let core: RealtimeCore
    let verifier: TokenVerifier
    let configuration: HubConfiguration
    let identity: Identity?
    let failure: TokenVerifier.Failure?
    let logger: Logger

    private var context: ChannelHandlerContext?
    private var session: Session?
    private let inbox = MessageInbox()
    private var fragments: ByteBuffer?
    private var fragmentsBinary = false
    private var closeSent = false
    private var awaitingPong = false
    private var heartbeat: RepeatedTask?

    init(
        core: RealtimeCore, verifier: TokenVerifier, configuration: HubConfiguration, identity: Identity?,
        failure: TokenVerifier.Failure?, logger: Logger
    ) {
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
        guard let identity else {
            let failure = failure
            let code: ErrorCode = failure == .expired ? .tokenExpired : .unauthorized
            refuse(context, code: code, message: failure?.message ?? "credentials required", close: .unauthorized)
            return
        }
        let session: Session
        do {
            session = try core.registry.register(identity)
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
        session.attach { loop.execute { bound.value.drain() } }
        let interval = TimeAmount.seconds(Int64(configuration.websocket.heartbeatIntervalSeconds))
        heartbeat = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in bound.value.beat() }
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
        heartbeat?.cancel()
        heartbeat = nil
        inbox.stop()
        if let session {
            self.session = nil
            core.detach(session)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            let frame = ByteBuffer(bytes: ServerMessage.reconnect(reason: "server_shutdown").encoded())
            session?.requestClose(.init(code: .serviceRestart, reason: "server shutting down", finalFrame: frame))
            if session == nil { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("websocket error", metadata: ["hub.error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            guard frame.fin else { return protocolError(context) }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            awaitingPong = false
        case .connectionClose:
            receivedClose(context, frame)
        case .text, .binary:
            guard fragments == nil else { return protocolError(context) }
            if frame.fin {
                complete(context, frame.unmaskedData, binary: frame.opcode == .binary)
            } else {
                fragments = frame.unmaskedData
                fragmentsBinary = frame.opcode == .binary
            }
        case .continuation:
            guard var buffer = fragments else { return protocolError(context) }
            var data = frame.unmaskedData
            guard buffer.readableBytes + data.readableBytes <= WebSocketReader.transportLimit(configuration.limits) else {
                fragments = nil
                return sendClose(context, code: .messageTooBig, reason: "message too large")
            }
            buffer.writeBuffer(&data)
            if frame.fin {
                fragments = nil
                complete(context, buffer, binary: fragmentsBinary)
            } else {
                fragments = buffer
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
        var reply = context.channel.allocator.buffer(capacity: 2)
        reply.writeInteger(code)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: reply)))
            .whenComplete { _ in context.close(promise: nil) }
    }

    private func protocolError(_ context: ChannelHandlerContext) {
        sendClose(context, code: CloseCode(rawValue: 1002), reason: "protocol error")
    }

    // MARK: Writing

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { drain() }
        context.fireChannelWritabilityChanged()
    }

    /// Writes what the session has, while the socket takes it.
    func drain() {
        guard let context, let session, !closeSent else { return }
        guard context.channel.isWritable || session.isClosing else { return }
        let (frames, close) = session.take()
        for frame in frames {
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: frame)), promise: nil)
        }
        if let close {
            sendClose(context, code: close.code, reason: close.reason, before: close.finalFrame)
        } else if !frames.isEmpty {
            context.flush()
        }
    }

    /// Sends `before` (if any) and a close frame, then closes the channel when
    /// the peer answers or after the close timeout.
    private func sendClose(_ context: ChannelHandlerContext, code: CloseCode, reason: String, before: ByteBuffer? = nil) {
        guard !closeSent else { return }
        closeSent = true
        if let before { context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: before)), promise: nil) }
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.writeInteger(code.rawValue)
        data.writeString(String(reason.prefix(120)))
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
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
            var data = context.channel.allocator.buffer(capacity: 2)
            data.writeInteger(UInt16(1001))
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
                .whenComplete { _ in context.close(promise: nil) }
            context.eventLoop.scheduleTask(in: .seconds(1)) { [channel = context.channel] in channel.close(promise: nil) }
            return
        }
        awaitingPong = true
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())), promise: nil)
    }
}
