import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Operations
import Protocol

extension OperationRoutes {
    /// `GET /operations/{id}/logs?after=&limit=`, or with `follow=true` an
    /// NDJSON stream (`application/x-ndjson`, one JSON object per line):
    /// `{"type":"line","sequence":…,"timestamp":…,"text":…}` for each line,
    /// `{"type":"gap","dropped":N}` when lines were dropped before they
    /// could be sent, `{"type":"keepalive"}` when idle, and finally
    /// `{"type":"end","status":…,"last_sequence":…}` once the operation is
    /// finished and every line is out (or `{"type":"shutdown",…}` when the
    /// hub stops: resume with `after=last_sequence`).
    @Sendable func logs(_ request: Request, context: HubRequestContext) async throws -> Response {
        let q = request.uri.queryParameters
        let after = try integer(q["after"], "after", range: 0...Int.max) ?? 0
        let limit = try integer(q["limit"], "limit", range: 1...settings.maxLogPageSize) ?? min(100, settings.maxLogPageSize)
        let follow: Bool
        switch q["follow"].map(String.init) {
        case nil, "false", "0": follow = false
        case "true", "1": follow = true
        default: throw APIError(.validationError, "follow must be true or false", details: ["field": "follow"])
        }
        let op = try await authorized(request, context, OperationAccess.read)
        if follow { return followLogs(op, after: after) }
        let page = try await APIError.mappingOperationErrors { try await operations.logs(op.ref, after: after, limit: limit) }
        return JSONResponse.ok(LogPageView(operationID: op.id, page: page, after: after), context: context)
    }

    func followLogs(_ op: OperationRecord, after start: Int) -> Response {
        let operations = self.operations
        let keepAlive = TimeInterval(settings.followKeepAliveSeconds)
        let pageSize = settings.maxLogPageSize
        let ref = op.ref
        let body = ResponseBody { writer in
            var after = start
            var last: LogStreamItem?
            while last == nil {
                let step: OperationService.LogFollowStep
                do {
                    step = try await operations.nextLogs(
                        ref, after: after, limit: pageSize, until: operations.clock.now().addingTimeInterval(keepAlive))
                } catch let error as OperationError where error.code == .notFound {
                    last = LogStreamItem(type: "end", status: "deleted", lastSequence: after)
                    continue
                }
                switch step {
                case .lines(let page):
                    var out: [ByteBuffer] = []
                    if page.gap { out.append(LogStreamItem(type: "gap", dropped: page.dropped).encoded()) }
                    out += page.lines.map { LogStreamItem.line($0).encoded() }
                    after = max(page.lines.last?.sequence ?? after, page.gap ? page.dropped : after)
                    try await writer.write(contentsOf: out)
                case .idle:
                    try await writer.write(LogStreamItem(type: "keepalive").encoded())
                case .finished(let finished):
                    last = LogStreamItem(type: "end", status: finished.status.rawValue, lastSequence: finished.logSequence)
                case .shuttingDown:
                    last = LogStreamItem(type: "shutdown", lastSequence: after)
                }
            }
            if let last { try await writer.write(last.encoded()) }
            try await writer.finish(nil)
        }
        let headers: HTTPFields = [
            .contentType: "application/x-ndjson", .cacheControl: "no-cache", OperationHeaders.accelBuffering: "no",
        ]
        return Response(status: .ok, headers: headers, body: body)
    }

    /// `POST /operations/{id}/logs` with `{"lines":[…]}`.
    @Sendable func appendLogs(_ request: Request, context: HubRequestContext) async throws -> Response {
        let op = try await authorized(request, context, OperationAccess.update)
        let body = try await OperationRequestBody.decode(AppendLogsBody.self, from: request, limit: settings.maxBodyBytes)
        let (updated, lines) = try await APIError.mappingOperationErrors { try await operations.appendLogs(op.ref, body.value.lines) }
        let view = AppendedLogsView(
            operationID: op.id, lines: lines.map(LogLineView.init), lastSequence: updated.logSequence,
            dropped: updated.droppedLogLines, version: updated.version)
        return JSONResponse.ok(view, context: context, status: .created, headers: headers(for: updated))
    }

    /// `GET /operations/{id}/events`: the operation's topic as Server-Sent
    /// Events (the `/stream` machinery), resumable with `Last-Event-ID`
    /// (`operation:{id}:progress@offset`, or a bare offset) or `?since=offset`.
    @Sendable func events(_ request: Request, context: HubRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let op = try await authorized(request, context, OperationAccess.read)
        let topic = op.progressTopic.rawValue
        var since: String?
        if let text = request.uri.queryParameters["since"], !text.isEmpty { since = String(text) }
        if let last = request.headers[OperationHeaders.lastEventID], !last.isEmpty {
            since = last.split(separator: "@").last.map(String.init) ?? last
        }
        if let since, Offset(since) == nil {
            throw APIError(.validationError, "since is not an offset", details: ["field": "since"])
        }
        let subscribe = ClientMessage.Subscribe(
            id: "sse", topics: [topic], since: since.map { [topic: $0] } ?? [:], snapshot: false)
        return try await SSEStream.open(
            core: deps.core, identity: identity, subscribe: subscribe,
            heartbeat: .seconds(deps.configuration.websocket.heartbeatIntervalSeconds))
    }
}
