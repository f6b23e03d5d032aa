import Foundation
import Hub
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Protocol

/// Decides WebSocket upgrades of `/ws/v1` and builds the connection handler.
/// Credentials are checked here; bad ones still upgrade, so the client can be
/// told in-band (error frame + close 4001). A disallowed `Origin`, a draining
/// node or another path is not upgraded at all.
struct WebSocketUpgrade: Sendable {
    static let path = "/ws/v1"

    let core: RealtimeCore
    let verifier: TokenVerifier
    let configuration: HubConfiguration
    let batchers = PerEventLoop { DrainBatcher(loop: $0) }
    let heartbeats: PerEventLoop<HeartbeatWheel>

    init(core: RealtimeCore, verifier: TokenVerifier, configuration: HubConfiguration) {
        self.core = core
        self.verifier = verifier
        self.configuration = configuration
        let interval = TimeAmount.seconds(Int64(configuration.websocket.heartbeatIntervalSeconds))
        heartbeats = PerEventLoop { HeartbeatWheel(loop: $0, interval: interval) }
    }

    struct Decision: Sendable {
        var identity: Identity?
        var failure: TokenVerifier.Failure?
        /// permessage-deflate, when enabled and offered.
        var deflate: PerMessageDeflate?
        var requestID: String

        /// Headers of the 101 response.
        var responseHeaders: HTTPHeaders {
            var headers = HTTPHeaders([("X-Request-ID", requestID)])
            if let deflate { headers.add(name: "Sec-WebSocket-Extensions", value: deflate.responseHeader) }
            return headers
        }
    }

    /// Why an upgrade request is answered over HTTP instead of upgraded.
    struct Refusal: Sendable, Error {
        var code: ErrorCode
        var message: String
        var requestID: String
    }

    enum Outcome: Sendable {
        case upgrade(Decision)
        case refuse(Refusal)
    }

    var maxFrameSize: Int { WebSocketReader.transportLimit(configuration.limits) }

    func decide(_ head: HTTPRequestHead) async -> Outcome {
        let requestID = RequestID.pick(head.headers["X-Request-ID"].first)
        let uri = URI(head.uri)
        guard uri.path == Self.path else {
            return .refuse(Refusal(code: .notFound, message: "no WebSocket endpoint here; use \(Self.path)", requestID: requestID))
        }
        guard !core.registry.isDraining else {
            return .refuse(
                Refusal(code: .serviceUnavailable, message: "this node is shutting down; connect to another", requestID: requestID))
        }
        let origins = configuration.allowedOrigins
        if !origins.isEmpty {
            // Every Origin header must be allowed: a request carrying several is not let through on its first.
            let given = head.headers["Origin"]
            guard !given.isEmpty, given.allSatisfy(origins.contains) else {
                return .refuse(Refusal(code: .forbidden, message: "origin not allowed", requestID: requestID))
            }
        }
        let deflate = configuration.websocket.compression
            ? PerMessageDeflate.negotiate(head.headers["Sec-WebSocket-Extensions"]) : nil
        var decision = Decision(identity: nil, failure: nil, deflate: deflate, requestID: requestID)
        if let token = Self.token(head, uri: uri) {
            do {
                decision.identity = try await verifier.verify(token)
            } catch {
                decision.failure = error
            }
        }
        return .upgrade(decision)
    }

    /// The bearer token of the `Authorization` header, or else the first
    /// non-empty `token` of the query (Hummingbird's `URI` parses it in bytes
    /// and percent-decodes it; splitting the string by characters and
    /// Foundation's decoding were 7% of a connection's CPU).
    static func token(_ head: HTTPRequestHead, uri: URI) -> String? {
        if let header = head.headers["Authorization"].first {
            let parts = header.split(separator: " ", maxSplits: 1)
            return parts.count == 2 && parts[0].lowercased() == "bearer" ? String(parts[1]) : nil
        }
        return uri.queryParameters[values: "token"].first { !$0.isEmpty }.map(String.init)
    }

    /// The handler of a connection upgraded on `loop`.
    func makeHandler(_ decision: Decision, loop: any EventLoop, raw: RawFrameWriter, logger: Logger) -> WebSocketSessionHandler {
        WebSocketSessionHandler(
            core: core, verifier: verifier, configuration: configuration, identity: decision.identity, failure: decision.failure,
            deflate: decision.deflate, logger: logger, batcher: batchers.value(for: loop), heartbeats: heartbeats.value(for: loop), raw: raw)
    }
}
