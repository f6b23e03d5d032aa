import CoreMetrics
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import Operations
import Protocol

/// Parks a long-poll on its event loop: the first request of a connection,
/// when `LongPollParking` says it may be parked, is answered from here, and
/// while it waits it is a change watch and a timer, not a request task with
/// its async frames (~38 KiB each under Hummingbird). Sits after the HTTP
/// request decoder and before the upgrade handler, so a parked connection
/// never gets Hummingbird's per-connection channel either.
///
/// Every other first request, and everything after it, passes through
/// untouched (the handler removes itself). A parked request is answered with
/// `Connection: close`: the connection was never handed to Hummingbird, so the
/// client's next request comes on a new one (and may be parked again).
/// Pipelined requests behind a parked one are not read.
final class LongPollHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Nothing read yet.
        case first
        /// Checking credentials and version; the request's parts wait here.
        case deciding([HTTPServerRequestPart])
        /// Waiting for a change of `op` (the version the client holds).
        case parked(Parked)
        /// Answered (or the client left); nothing more is read.
        case done
    }

    private struct Parked {
        /// As the client holds it (the 304's headers).
        var op: OperationRecord
        var wait: ChangeWait?
    }

    private let parking: LongPollParking
    /// Called (on the loop) when the request is parked: the connection is this handler's from then on.
    private let onParked: () -> Void
    private var state = State.first
    private var candidate: LongPollParking.Candidate?
    private var context: ChannelHandlerContext?

    init(parking: LongPollParking, onParked: @escaping () -> Void) {
        self.parking = parking
        self.onParked = onParked
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finishParked()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Parked, the request decoder is gone: raw bytes (pipelined requests) are dropped unread.
        if case .parked = state { return }
        if case .done = state { return }
        let part = unwrapInboundIn(data)
        switch state {
        case .first:
            guard case .head(let head) = part, let candidate = parking.candidate(head) else {
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            self.candidate = candidate
            state = .deciding([part])
            decide(candidate, context: context)
        case .deciding(var held):
            held.append(part)
            state = .deciding(held)
        case .parked, .done:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finishParked()
        state = .done
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case .parked(let parked) = state else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if event is ChannelShouldQuiesceEvent {
            // Shutting down: answer now, as the route does (304: nothing changed yet).
            answerNotModified(parked.op)
        } else if case .inputClosed? = event as? ChannelEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: - Deciding

    private func decide(_ candidate: LongPollParking.Candidate, context: ChannelHandlerContext) {
        if let decision = parking.decideNow(candidate) {
            decided(decision, candidate)
            return
        }
        let parking = self.parking
        let promise = context.eventLoop.makePromise(of: LongPollParking.Decision.self)
        promise.completeWithTask { await parking.decide(candidate) }
        promise.futureResult.assumeIsolated().whenSuccess { [self] decision in decided(decision, candidate) }
    }

    private func decided(_ decision: LongPollParking.Decision, _ candidate: LongPollParking.Candidate) {
        guard case .deciding(let held) = state, let context else { return }
        switch decision {
        case .forward:
            state = .done
            for part in held { context.fireChannelRead(wrapInboundOut(part)) }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case .park(let op):
            state = .parked(Parked(op: op))
            parking.waiters.increment()
            onParked()
            shedHTTPHandlers(context)
            // The service's wait (the route's too): a ticket and a timer on this loop, no task.
            let operations = parking.operations
            let deadline = operations.clock.now().addingTimeInterval(TimeInterval(candidate.waitSeconds))
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let loop = context.eventLoop
            let wait = operations.awaitChange(op.ref, from: op.version, until: deadline, timerLoop: loop) { result in
                loop.execute { bound.value.waited(result) }
            }
            if case .parked(var parked) = state {
                parked.wait = wait
                state = .parked(parked)
            }
        }
    }

    /// A parked connection reads no more requests: the request decoder (its
    /// buffer and parser state) and the upgrade handler go, as they do for an
    /// upgraded WebSocket. The response encoder stays for the answer; the
    /// socket is still read, so a client that leaves is noticed.
    private func shedHTTPHandlers(_ context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
            pipeline.removeHandler(decoder, promise: nil)
        }
        if let upgrader = try? pipeline.handler(type: NIOTypedHTTPServerUpgradeHandler<HubServerChannel.UpgradeResult>.self) {
            pipeline.removeHandler(upgrader, promise: nil)
        }
        candidate?.token = ""
    }

    // MARK: - Waiting

    private func waited(_ result: Result<OperationRecord?, any Error>) {
        guard case .parked(let parked) = state else { return }
        switch result {
        case .success(let op?): answerOK(op)
        case .success(nil): answerNotModified(parked.op)
        case .failure(let error): answerError((error as? OperationError).map { APIError($0) } ?? APIError.from(error))
        }
    }

    // MARK: - Answering

    private func answerOK(_ op: OperationRecord) {
        guard let candidate else { return }
        let body = JSONResponse.envelope(json: parking.encoded.json(for: op), requestID: candidate.requestID)
        answer(.ok, headers: headers(for: op), body: body)
    }

    private func answerNotModified(_ op: OperationRecord) {
        answer(.notModified, headers: headers(for: op), body: nil)
    }

    private func answerError(_ error: APIError) {
        guard let candidate else { return }
        answer(
            HTTPResponseStatus(statusCode: Int(error.status.code)), headers: HTTPHeaders(error.headers),
            body: JSONResponse.errorEnvelope(error, requestID: candidate.requestID))
    }

    /// `ETag` and `Retry-After`, as the route sends them.
    private func headers(for op: OperationRecord) -> HTTPHeaders {
        HTTPHeaders(OperationRoutes.headers(for: op, pollInterval: parking.settings.pollIntervalSeconds))
    }

    private func answer(_ status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer?) {
        guard let context, let candidate else { return }
        finishParked()
        state = .done
        var headers = headers
        headers.add(name: "X-Request-ID", value: candidate.requestID)
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Server", value: "operations-hub")
        if let body {
            headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
        }
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        parking.metrics.record(method: "GET", route: LongPollParking.route, status: Int(status.code), since: candidate.start)
    }

    /// Ends the wait of a parked request and uncounts it.
    private func finishParked() {
        guard case .parked(let parked) = state else { return }
        state = .done
        parked.wait?.cancel()
        parking.waiters.decrement()
    }
}

