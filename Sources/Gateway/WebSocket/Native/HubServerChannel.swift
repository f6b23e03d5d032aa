import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import Protocol

/// The hub's own HTTP/1 + WebSocket child channel for Hummingbird's server.
///
/// HTTP requests go to the Hummingbird responder as usual. A WebSocket upgrade
/// of `/ws/v1` is decided here (origin, draining, credentials) and, once
/// upgraded, the connection is served entirely on its event loop by a
/// `WebSocketSessionHandler`: no task, no actor, no async writer per
/// connection. That keeps an idle connection small and a delivery cheap.
struct HubServerChannel: ServerChildChannel, HTTPChannelHandler {
    enum UpgradeResult: Sendable {
        case websocket
        /// The first request is a long-poll parked by `LongPollHandler`, which serves the connection.
        case parkedLongPoll
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade request that was refused: answered with this error, then closed.
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, WebSocketUpgrade.Refusal)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let upgrade: WebSocketUpgrade
    /// Parks a connection's first request when it is a plain long-poll (nil: never).
    let longPolls: LongPollParking?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let decision = NIOLoopBoundBox(WebSocketUpgrade.Decision?.none, eventLoop: channel.eventLoop)
            let refusal = NIOLoopBoundBox(WebSocketUpgrade.Refusal?.none, eventLoop: channel.eventLoop)
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: upgrade.maxFrameSize,
                // Protocol errors of the decoder reach the session handler, which closes (1002).
                enableAutomaticErrorHandling: false,
                shouldUpgrade: { channel, head in
                    let promise = channel.eventLoop.makePromise(of: WebSocketUpgrade.Outcome.self)
                    promise.completeWithTask { await upgrade.decide(head) }
                    return promise.futureResult.map { outcome -> HTTPHeaders? in
                        switch outcome {
                        case .upgrade(let accepted):
                            decision.value = accepted
                            return accepted.responseHeaders
                        case .refuse(let refused):
                            refusal.value = refused
                            return nil
                        }
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard let outcome = decision.value else { throw ChannelError.inappropriateOperationForState }
                        // The session handler writes framed bytes itself (one framing per event per loop).
                        let raw = RawFrameWriter()
                        try channel.pipeline.syncOperations.addHandler(raw, position: .first)
                        try channel.pipeline.syncOperations.addHandler(
                            upgrade.makeHandler(outcome, loop: channel.eventLoop, raw: raw, logger: logger))
                        return UpgradeResult.websocket
                    }
                }
            )
            let configuration = NIOTypedHTTPServerUpgradeConfiguration<UpgradeResult>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        if let refused = refusal.value { return UpgradeResult.refused(asyncChannel, refused) }
                        return UpgradeResult.notUpgraded(asyncChannel)
                    }
                })
            var pipeline = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: configuration)
            pipeline.enablePipelining = false
            pipeline.enableErrorHandling = false
            pipeline.enableResponseHeaderValidation = false
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
            guard let longPolls else { return Value(upgradeResult: result, channel: channel) }
            // The handler sees the first request before the upgrade handler
            // decides what the connection becomes. Once it parks one, the
            // connection is its own: the result says so at once, so that
            // Hummingbird's task for the connection ends (as for a WebSocket)
            // instead of waiting with its frames; the upgrade handler, which
            // never sees a request, fails its future when the channel closes,
            // and that is ignored then.
            let outcome = channel.eventLoop.makePromise(of: UpgradeResult.self)
            let settled = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            result.whenComplete { upgraded in
                guard !settled.value else { return }
                settled.value = true
                outcome.completeWith(upgraded)
            }
            let handler = LongPollHandler(parking: longPolls) {
                guard !settled.value else { return }
                settled.value = true
                outcome.succeed(.parkedLongPoll)
            }
            let upgradeHandler = try channel.pipeline.syncOperations.handler(type: NIOTypedHTTPServerUpgradeHandler<UpgradeResult>.self)
            try channel.pipeline.syncOperations.addHandler(handler, position: .before(upgradeHandler))
            return Value(upgradeResult: outcome.futureResult, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .notUpgraded(let asyncChannel):
                await handleHTTP(asyncChannel: asyncChannel, logger: logger)
            case .refused(let asyncChannel, let refusal):
                await Self.answer(refusal, on: asyncChannel, logger: logger)
            case .websocket, .parkedLongPoll:
                // Served by a channel handler on its event loop; nothing to await here.
                return
            }
        } catch {
            logger.debug("connection setup failed", metadata: ["hub.error": "\(error)"])
            try? await value.channel.close()
        }
    }

    /// Answers a refused upgrade with the REST error envelope and closes the
    /// connection (the request that asked to upgrade is not served further).
    static func answer(
        _ refusal: WebSocketUpgrade.Refusal, on asyncChannel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger
    ) async {
        let requestID = refusal.requestID
        let body = JSONResponse.errorEnvelope(APIError(refusal.code, refusal.message), requestID: requestID)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(body.readableBytes)
        headers[.connection] = "close"
        headers[.xRequestID] = requestID
        let head = HTTPResponse(status: refusal.code.httpStatus, headerFields: headers)
        let parts: [HTTPResponsePart] = [.head(head), .body(body), .end(nil)]
        do {
            try await asyncChannel.executeThenClose { (_, outbound: NIOAsyncChannelOutboundWriter<HTTPResponsePart>) in
                try await outbound.write(contentsOf: parts)
            }
        } catch {
            logger.trace("could not answer a refused upgrade", metadata: ["hub.error": "\(error)"])
        }
    }
}
