import Foundation
import HTTPTypes
import HubTesting
import Protocol
import Testing

/// Sends real requests to a live hub and checks each answer against
/// `Docs/openapi.yaml`: the expected status, and that the answer conforms
/// (status documented for the route, content type, required headers, body schema).
struct OpenAPISpecCheck: Sendable {
    let conformance: OpenAPIConformance

    init() throws {
        conformance = OpenAPIConformance(document: try OpenAPIDocument.load())
    }

    @discardableResult
    func call(
        _ hub: TestHub, _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil,
        headers: HTTPFields = [:], expect status: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> HTTPResult {
        let result = try await hub.request(method, path, token: token, json: json, headers: headers)
        #expect(result.status == status, "\(method) \(path): \(result.status) \(result.text)", sourceLocation: sourceLocation)
        expectConforms(method.rawValue, path, OpenAPIResponse(result), sourceLocation: sourceLocation)
        return result
    }

    func expectConforms(_ method: String, _ path: String, _ response: OpenAPIResponse, sourceLocation: SourceLocation = #_sourceLocation) {
        let problems = conformance.problems(method, path, response)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }

    /// Each SSE message's `data:` against the route's `x-item-schema`.
    func expectItemConforms(
        _ method: String, _ path: String, mediaType: String, _ item: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let problems = conformance.itemProblems(method, path, status: 200, mediaType: mediaType, item: Data(item.utf8))
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }

    /// Creates a deploy operation as `token`'s caller; returns its id.
    func createOperation(_ hub: TestHub, token: String, body: String = Self.deployBody) async throws -> String {
        let created = try await call(hub, .post, "/api/v1/operations", token: token, json: body, expect: 201)
        return try #require(created.data["operation_id"] as? String)
    }

    static let deployBody = #"{"type":"deploy","target":{"kind":"application","id":"app_123"},"team_id":"frontend","stages":["build","rollout"],"metadata":{"commit":"abc"},"heartbeat_timeout_seconds":600}"#

    static let upgradeHeaders: HTTPFields = [
        .upgrade: "websocket", .connection: "Upgrade", .secWebSocketVersion: "13", .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
    ]
}
