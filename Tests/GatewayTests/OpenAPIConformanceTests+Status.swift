import Foundation
import Gateway
import Hub
import HTTPTypes
import HubTesting
import Protocol
import Testing

/// Identity, status, health, readiness, metrics and unknown routes against the spec.
extension OpenAPIConformanceTests {
    @Test func identityAndPermissions() async throws {
        try await TestHub.run { hub in
            let scoped = try await hub.token(
                sub: "dev", roles: [RoleGrant(role: "developer", scope: .team("frontend"), permissions: [Permission("billing:read")!])])
            let me = try await spec.call(hub, .get, "/api/v1/users/me", token: scoped, expect: 200)
            #expect(me.data["auth_type"] as? String == "jwt")
            try await spec.call(hub, .get, "/api/v1/users/me", token: try await hub.token(), expect: 200)
            try await spec.call(hub, .get, "/api/v1/users/me/permissions", token: scoped, expect: 200)
            try await spec.call(hub, .get, "/api/v1/users/me/permissions", token: try await hub.token(), expect: 200)
            try await spec.call(hub, .get, "/api/v1/users/me", expect: 401)
            try await spec.call(hub, .get, "/api/v1/users/me", headers: [.authorization: "Basic YTpi"], expect: 401)
            try await spec.call(hub, .get, "/api/v1/users/me/permissions", token: "garbage", expect: 401)
            // The query token is read when no Authorization header is sent.
            try await spec.call(hub, .get, "/api/v1/users/me?token=\(try await hub.token())", expect: 200)
        }
    }

    @Test func platformAndApplicationStatus() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            try await spec.call(hub, .get, "/api/v1/status", token: token, expect: 200)
            try await spec.call(hub, .get, "/api/v1/status", expect: 401)
            let app = "/api/v1/status/applications/app_1"
            try await spec.call(hub, .get, app, token: token, expect: 404)
            try await hub.publish("application:app_1:status", data: #"{"status":"running","replicas":3}"#, teamID: "frontend")
            let found = try await spec.call(hub, .get, app, token: token, expect: 200)
            #expect(found.data["application_id"] as? String == "app_1")
            try await spec.call(hub, .get, app, expect: 401)
            try await spec.call(hub, .get, app, token: try await hub.token(roles: Self.roles(["operation:read"])), expect: 403)
            let otherTeam = try await hub.token(roles: Self.roles(["application:read"], scope: .team("backend")))
            try await spec.call(hub, .get, app, token: otherTeam, expect: 404)
            try await spec.call(hub, .get, "/api/v1/status/applications/a%20b", token: token, expect: 400)
        }
    }

    @Test func healthReadinessAndMetrics() async throws {
        try await TestHub.run { hub in
            try await spec.call(hub, .get, "/health", expect: 200)
            try await spec.call(hub, .get, "/ready", expect: 200)
            let metrics = try await spec.call(hub, .get, "/metrics", expect: 200)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(metrics.text.contains("hub_http_requests_total"))
            let echoed = try await spec.call(hub, .get, "/health", headers: [HTTPField.Name("X-Request-ID")!: "client-id-7"], expect: 200)
            #expect(echoed.headers[HTTPField.Name("X-Request-ID")!] == "client-id-7")
            hub.server.core.registry.drain()
            try await spec.call(hub, .get, "/ready", expect: 503)
            try await spec.call(hub, .get, "/health", expect: 200)
        }
    }

    /// Outside every documented path: still the envelope with `X-Request-ID`.
    @Test(arguments: [("GET", "/nope"), ("DELETE", "/health"), ("GET", "/api/v1/unknown"), ("PUT", "/api/v1/events"), ("POST", "/api/v1/keys")])
    func unknownRoutesAnswerTheNotFoundEnvelope(method: String, path: String) async throws {
        try await TestHub.run { hub in
            let result = try await hub.request(HTTPRequest.Method(method)!, path, token: try await hub.token())
            #expect(result.status == 404)
            #expect(result.headers[HTTPField.Name("X-Request-ID")!] != nil)
            #expect(result.headers[.contentType]?.hasPrefix("application/json") == true)
            let problems = spec.conformance.bodyProblems(result.body, ref: "#/components/schemas/NotFoundEnvelope")
            #expect(problems.isEmpty, "\(problems)")
            // No operation of the spec claims these.
            #expect(spec.conformance.document.operation(method, path) == nil)
        }
    }
}
