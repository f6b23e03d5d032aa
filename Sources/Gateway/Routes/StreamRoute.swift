import Foundation
import Hub
import HTTPTypes
import Hummingbird
import NIOCore
import Protocol

/// `GET /api/v1/stream?topics=a,b`: the WebSocket's events as Server-Sent
/// Events. Each event is one SSE message with `id: topic@offset`; a client
/// resumes with `Last-Event-ID` (that topic) and `since=topic@offset,…` (others).
struct StreamRoute {
    let deps: RouteDependencies

    func register(on group: RouterGroup<HubRequestContext>) {
        group.get("stream", use: stream)
    }

    @Sendable func stream(_ request: Request, context: HubRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard let list = request.uri.queryParameters["topics"], !list.isEmpty else {
            throw APIError(.validationError, "topics is required: ?topics=a,b", details: ["field": "topics"])
        }
        let topics = list.split(separator: ",").map(String.init)
        var since = Self.parseSince(request.uri.queryParameters["since"].map(String.init))
        if let last = request.headers[HTTPField.Name("Last-Event-ID")!] {
            since.merge(Self.parseSince(last)) { _, header in header }
        }
        let subscribe = ClientMessage.Subscribe(id: "sse", topics: topics, since: since, snapshot: false)
        return try await SSEStream.open(core: deps.core, identity: identity, subscribe: subscribe, heartbeat: .seconds(deps.configuration.websocket.heartbeatIntervalSeconds))
    }

    /// `topic@offset,topic@offset` → `[topic: offset]`.
    static func parseSince(_ text: String?) -> [String: String] {
        guard let text else { return [:] }
        var result: [String: String] = [:]
        for item in text.split(separator: ",") {
            guard let at = item.lastIndex(of: "@") else { continue }
            result[String(item[..<at])] = String(item[item.index(after: at)...])
        }
        return result
    }
}

/// Runs one SSE response: a session fed by the core, written as SSE messages.
enum SSEStream {
    static func open(core: RealtimeCore, identity: Identity, subscribe: ClientMessage.Subscribe, heartbeat: Duration) async throws -> Response {
        let session: Session
        do {
            session = try core.registry.register(identity)
        } catch .tooManyConnections(let limit) {
            throw APIError(.tooManyConnections, "at most \(limit) connections per user")
        } catch {
            throw APIError(.serviceUnavailable, "shutting down")
        }
        await core.subscribe(session, subscribe)
        let headers: HTTPFields = [
            .contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        let body = ResponseBody { writer in
            defer { core.detach(session) }
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while true {
                        try await Task.sleep(for: heartbeat)
                        session.send(ByteBuffer())  // an empty buffer is written as an SSE comment
                    }
                }
                defer { group.cancelAll() }
                while let output = await session.next() {
                    switch output {
                    case .frames(let frames):
                        try await writer.write(contentsOf: frames.map(Self.message))
                    case .close(let request):
                        if let final = request.finalFrame { try await writer.write(Self.message(final)) }
                        return
                    }
                }
            }
            // Ends the response (the last chunk): a closed session ends the stream,
            // so the client sees `reconnect`/`error` and then the end, and reconnects.
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    struct FrameHead: Decodable {
        var type: String
        var topic: String?
        var offset: String?
    }

    /// One queued frame as an SSE message: `id: topic@offset` for events,
    /// `event:` = the frame type, `data:` = the same JSON as on the WebSocket.
    static func message(_ frame: ByteBuffer) -> ByteBuffer {
        guard frame.readableBytes > 0 else { return ByteBuffer(string: ": heartbeat\n\n") }
        var out = ByteBuffer()
        if let head = try? JSONDecoder().decode(FrameHead.self, from: Data(frame.readableBytesView)) {
            if head.type == "event", let topic = head.topic, let offset = head.offset {
                out.writeString("id: \(topic)@\(offset)\n")
            }
            if head.type != "event" { out.writeString("event: \(head.type)\n") }
        }
        out.writeString("data: ")
        var copy = frame
        out.writeBuffer(&copy)
        out.writeString("\n\n")
        return out
    }
}
