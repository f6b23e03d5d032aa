import NIOCore
import NIOHTTP1

/// The requests of the operations scenarios (API.md, "Operations"), built from shared headers.
/// Heads are value types with copy-on-write headers: a worker builds its GET once and resends it.
struct OperationRequests: Sendable {
    let hostHeader: String
    let token: String
    /// `/api/v1`
    let apiPrefix: String
    private let authorized: HTTPHeaders
    private let anonymous: HTTPHeaders

    init(hostHeader: String, token: String, apiPrefix: String = "/api/v1") {
        self.hostHeader = hostHeader
        self.token = token
        self.apiPrefix = apiPrefix
        var anonymous = HTTPHeaders()
        anonymous.add(name: "Host", value: hostHeader)
        self.anonymous = anonymous
        var authorized = anonymous
        authorized.add(name: "Authorization", value: "Bearer \(token)")
        self.authorized = authorized
    }

    /// `GET /health`, without a token (what a load balancer sends) or with the bench's token
    /// (the same auth middleware work as an operations request, without the route's work).
    func health(withToken: Bool) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .GET, uri: "/health", headers: withToken ? self.authorized : self.anonymous)
    }

    /// `POST /api/v1/operations`; the body names the run and the worker so operations are traceable.
    func create(run: String, worker: Int, allocator: ByteBufferAllocator) -> (HTTPRequestHead, ByteBuffer) {
        let json = "{\"type\":\"bench\",\"target\":{\"kind\":\"bench\",\"id\":\"\(run)_\(worker)\"},\"metadata\":{\"bench_run\":\"\(run)\"}}"
        return self.withBody(.POST, "\(self.apiPrefix)/operations", json, ifMatch: nil, allocator: allocator)
    }

    /// `PATCH /api/v1/operations/{id}` with a report; `ifMatch` becomes `If-Match: "N"`.
    func patch(id: String, json: String, ifMatch: Int?, allocator: ByteBufferAllocator) -> (HTTPRequestHead, ByteBuffer) {
        self.withBody(.PATCH, "\(self.apiPrefix)/operations/\(id)", json, ifMatch: ifMatch, allocator: allocator)
    }

    /// `GET /api/v1/operations/{id}`; with `ifNoneMatch` and `waitSeconds` it is a long-poll.
    func get(id: String, ifNoneMatch: Int? = nil, waitSeconds: Int? = nil) -> HTTPRequestHead {
        var headers = self.authorized
        if let ifNoneMatch { headers.add(name: "If-None-Match", value: "\"\(ifNoneMatch)\"") }
        let query = waitSeconds.map { "?wait_seconds=\($0)" } ?? ""
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: "\(self.apiPrefix)/operations/\(id)\(query)", headers: headers)
    }

    private func withBody(
        _ method: HTTPMethod, _ uri: String, _ json: String, ifMatch: Int?, allocator: ByteBufferAllocator
    ) -> (HTTPRequestHead, ByteBuffer) {
        let body = allocator.buffer(string: json)
        var headers = self.authorized
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        if let ifMatch { headers.add(name: "If-Match", value: "\"\(ifMatch)\"") }
        return (HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers), body)
    }
}
