import Foundation
import HTTPTypes
import HubTesting
import Protocol
import Testing

/// The spec and the server describe the same routes: every route the hub
/// registers is in the spec, and every operation of the spec is served (a
/// probe of it is answered by that route, not by "no such route").
@Suite("OpenAPI route coverage")
struct OpenAPIRouteCoverageTests {
    /// Every route `HubServer.makeApplication` registers (`Sources/Gateway/Routes/*.swift`), and the WebSocket endpoint.
    static let served: Set<String> = [
        "POST /api/v1/events", "GET /api/v1/topics/{topic}/history", "GET /api/v1/stream",
        "GET /api/v1/users/me", "GET /api/v1/users/me/permissions",
        "GET /api/v1/status", "GET /api/v1/status/applications/{id}",
        "POST /api/v1/operations", "GET /api/v1/operations",
        "GET /api/v1/operations/{id}", "PATCH /api/v1/operations/{id}", "DELETE /api/v1/operations/{id}",
        "POST /api/v1/operations/{id}/cancel", "GET /api/v1/operations/{id}/logs", "POST /api/v1/operations/{id}/logs",
        "GET /api/v1/operations/{id}/events",
        "GET /health", "GET /ready", "GET /metrics", "GET /ws/v1",
    ]

    /// Routes API.md names that the hub does not serve yet, so the spec leaves them out.
    static let planned = ["GET /api/v1/keys", "POST /api/v1/keys", "GET /api/v1/metrics", "GET /", "GET /clients/hub-client.js"]

    let spec: OpenAPIDocument
    let conformance: OpenAPIConformance

    init() throws {
        spec = try OpenAPIDocument.load()
        conformance = OpenAPIConformance(document: spec)
    }

    @Test func theSpecDescribesExactlyTheServedRoutes() {
        let described = Set(spec.operations.map(\.description))
        #expect(described.subtracting(Self.served).isEmpty, "in the spec, not served: \(described.subtracting(Self.served).sorted())")
        #expect(Self.served.subtracting(described).isEmpty, "served, not in the spec: \(Self.served.subtracting(described).sorted())")
    }

    /// A concrete path for an operation of the spec.
    static func probePath(_ operation: OpenAPIOperation) -> String {
        operation.path.filled([
            "topic": "application:probe:status",
            "id": operation.path.template.contains("/operations/") ? "op_probe0000000000000000" : "app_probe",
        ])
    }

    @Test func everyOperationOfTheSpecIsServed() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            var probed: [String] = []
            for operation in spec.operations {
                let path = Self.probePath(operation)
                if operation.documentedStatuses.contains("101") {
                    let probe = WSProbe(url: "ws://127.0.0.1:\(hub.port)\(path)?token=\(token)")
                    let head = try #require(OpenAPIResponse(head: try await probe.handshake()), "\(operation)")
                    #expect(head.status == 101, "\(operation)")
                    probe.close()
                    continue
                }
                let method = HTTPRequest.Method(operation.method)!
                let body = method == .post || method == .patch ? "{}" : nil
                let result = try await hub.request(method, path, token: token, json: body)
                let unrouted = result.status == 404 && (result.json["error"] as? [String: Any])?["message"] as? String == "no such route"
                #expect(!unrouted, "\(operation): \(path) is not routed")
                let problems = conformance.problems(operation.method, path, OpenAPIResponse(result))
                #expect(problems.isEmpty, "\(problems)")
                probed.append(operation.path.template)
            }
            // The hub's own view: each probe was counted under the route pattern the spec names.
            let metrics = try await hub.request(.get, "/metrics").text
            for template in Set(probed) {
                #expect(metrics.contains("route=\"\(template)\""), "no requests counted for route \(template)")
            }
        }
    }

    /// The probe above can tell: routes the hub does not serve answer "no such route".
    @Test func plannedRoutesAreNotServedYet() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            for route in Self.planned {
                let parts = route.split(separator: " ")
                let result = try await hub.request(HTTPRequest.Method(String(parts[0]))!, String(parts[1]), token: token)
                #expect(result.status == 404, "\(route)")
                #expect((result.json["error"] as? [String: Any])?["message"] as? String == "no such route", "\(route)")
                #expect(spec.operation(String(parts[0]), String(parts[1])) == nil, "\(route)")
            }
        }
    }
}
