import Foundation
import Hub
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Protocol

/// The I/O shell of one WebSocket: a reader task that handles client messages
/// and a writer task that drains the session's queue. Either ending ends both.
struct WebSocketConnection {
    let core: RealtimeCore
    let verifier: TokenVerifier
    let configuration: HubConfiguration
    let logger: Logger

    func run(identity: Identity?, failure: TokenVerifier.Failure?, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        guard let identity else {
            let failure = failure ?? .missingClaim("credentials")
            let code: ErrorCode = failure == .expired ? .tokenExpired : .unauthorized
            let message = failure == .missingClaim("credentials") ? "credentials required" : failure.message
            await refuse(outbound, code: code, message: message, close: .unauthorized)
            return
        }
        let session: Session
        do {
            session = try core.registry.register(identity)
        } catch .tooManyConnections(let limit) {
            await refuse(outbound, code: .tooManyConnections, message: "at most \(limit) connections per user", close: .policyViolation)
            return
        } catch {
            try? await outbound.write(.text(String(decoding: ServerMessage.reconnect(reason: "server_shutdown").encoded(), as: UTF8.self)))
            try? await outbound.close(.init(codeNumber: Int(CloseCode.serviceRestart.rawValue)), reason: "server shutting down")
            return
        }
        defer { core.detach(session) }
        let logger = logger.with(connection: session.connectionID)
        session.send(
            .welcome(
                .init(
                    connectionID: session.connectionID, userID: identity.subject, tenant: identity.tenant,
                    heartbeatIntervalMS: configuration.websocket.heartbeatIntervalSeconds * 1000,
                    maxMessageBytes: configuration.limits.maxMessageBytes, expiresAt: identity.expiresAt)))
        let reader = WebSocketReader(core: core, verifier: verifier, limits: configuration.limits, session: session, logger: logger)
        // Two tasks per connection: the writer (a child) performs every close; the
        // reader runs in this task. When the reader ends (the peer closed, or it
        // asked for a close), the writer finishes the close. When the writer closes
        // first, the peer's close reply (or the heartbeat giving up) ends the reader.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await Self.write(session: session, to: outbound) }
            await reader.read(inbound)
            session.requestClose(.init(code: .normal, reason: "closed"))
            await group.waitForAll()
        }
        logger.debug("websocket closed")
    }

    /// Drains the session into the socket; performs the requested close.
    static func write(session: Session, to outbound: WebSocketOutboundWriter) async {
        while let output = await session.next() {
            switch output {
            case .frames(let frames):
                do {
                    for frame in frames {
                        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame)))
                    }
                } catch {
                    return
                }
            case .close(let request):
                if let final = request.finalFrame {
                    try? await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: final)))
                }
                try? await outbound.close(.init(codeNumber: Int(request.code.rawValue)), reason: request.reason)
                return
            }
        }
    }

    /// An `error` frame and a close, for connections that never get a session.
    private func refuse(_ outbound: WebSocketOutboundWriter, code: ErrorCode, message: String, close: CloseCode) async {
        let frame = ServerMessage.error(.init(id: nil, code: code, message: message)).encoded()
        try? await outbound.write(.text(String(decoding: frame, as: UTF8.self)))
        try? await outbound.close(.init(codeNumber: Int(close.rawValue)), reason: message)
    }
}

extension Logger {
    func with(connection id: String) -> Logger {
        var copy = self
        copy[metadataKey: "hub.connection.id"] = .string(id)
        return copy
    }
}
