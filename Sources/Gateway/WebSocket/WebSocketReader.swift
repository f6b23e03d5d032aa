import CoreMetrics
import Foundation
import Hub
import Logging
import NIOCore
import Protocol

/// Reads client messages of one connection and acts on them (PROTOCOL.md).
struct WebSocketReader: Sendable {
    let core: RealtimeCore
    let verifier: TokenVerifier
    let limits: HubLimits
    let session: Session
    let logger: Logger

    /// Client frames up to 4× the message limit are read whole, so that an
    /// oversized message gets a MESSAGE_TOO_LARGE error before the 1009 close;
    /// larger ones are cut by the transport with 1009 alone.
    static func transportLimit(_ limits: HubLimits) -> Int {
        max(limits.maxMessageBytes * 4, limits.maxMessageBytes + 1024)
    }

    /// Handles one complete client message; false when the connection is closing.
    func handle(bytes: [UInt8], binary: Bool) async -> Bool {
        if bytes.count > limits.maxMessageBytes {
            let frame = ServerMessage.error(.init(id: nil, code: .messageTooLarge, message: "frame is \(bytes.count) bytes, the limit is \(limits.maxMessageBytes)"))
            session.requestClose(.init(code: .messageTooBig, reason: "message too large", finalFrame: ByteBuffer(bytes: frame.encoded())))
            return false
        }
        guard session.admitFrame(perSecond: limits.maxFramesPerSecond, now: .now) else {
            return refuse(id: nil, code: .rateLimited, message: "more than \(limits.maxFramesPerSecond) frames per second")
        }
        if binary {
            return refuse(id: nil, code: .invalidMessage, message: "binary frames are not supported; send JSON text")
        }
        let decoded: ClientMessage
        do {
            decoded = try ClientMessage.decode(bytes)
        } catch {
            return refuse(id: error.id, code: error.code, message: error.message)
        }
        switch decoded {
        case .subscribe(let request):
            await core.subscribe(session, request)
        case .unsubscribe(let request):
            session.send(core.unsubscribe(session, request))
        case .ping(let id):
            session.send(.pong(id: id))
        case .auth(let request):
            return await reauthenticate(request)
        }
        return true
    }

    /// Sends an error frame and counts the frame as invalid; closes with 4029 past the limit.
    private func refuse(id: String?, code: ErrorCode, message: String) -> Bool {
        core.metrics.invalidFrames.increment()
        let frame = ServerMessage.error(.init(id: id, code: code, message: message))
        if session.recordInvalidFrame() > limits.maxInvalidFrames {
            session.requestClose(.init(code: .policyViolation, reason: "too many invalid or rate-limited frames", finalFrame: ByteBuffer(bytes: frame.encoded())))
            return false
        }
        session.send(frame)
        return true
    }

    private func reauthenticate(_ request: ClientMessage.Auth) async -> Bool {
        let current = session.identity
        let fresh: Identity
        do {
            fresh = try await verifier.verify(request.token)
        } catch {
            return refuse(id: request.id, code: error.code, message: error.message)
        }
        guard fresh.subject == current.subject, fresh.tenant == current.tenant else {
            let frame = ServerMessage.error(.init(id: request.id, code: .forbidden, message: "auth must keep the same sub and tenant"))
            session.requestClose(.init(code: .identityChanged, reason: "identity changed", finalFrame: ByteBuffer(bytes: frame.encoded())))
            return false
        }
        session.replaceIdentity(fresh)
        session.send(.authenticated(.init(id: request.id, expiresAt: fresh.expiresAt)))
        return true
    }
}

extension Logger {
    /// This logger with the connection's id as `hub.connection.id`.
    func with(connection id: String) -> Logger {
        var copy = self
        copy[metadataKey: "hub.connection.id"] = .string(id)
        return copy
    }
}
