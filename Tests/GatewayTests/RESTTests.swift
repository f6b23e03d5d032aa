import Foundation
import HTTPTypes
import Gateway
import Hub
import HubTesting
import Protocol
import Testing

@Suite("REST API")
struct RESTTests {
    @Test func everyAnswerCarriesTheEnvelopeAndARequestID() async throws {
        try await TestHub.run { hub in
            let health = try await hub.request(.get, "/health")
            #expect(health.status == 200)
            #expect(health.json["success"] as? Bool == true)
            let meta = try #require(health.json["meta"] as? [String: Any])
            #expect(meta["api_version"] as? String == "v1")
            #expect((meta["request_id"] as? String) == health.headers[.init("X-Request-ID")!])
            let echoed = try await hub.request(.get, "/health", headers: [.init("X-Request-ID")!: "my-request-1"])
            #expect(echoed.headers[.init("X-Request-ID")!] == "my-request-1")
            let insane = try await hub.request(.get, "/health", headers: [.init("X-Request-ID")!: String(repeating: "a", count: 300)])
            #expect(insane.headers[.init("X-Request-ID")!]?.hasPrefix("req_") == true)
        }
    }

    @Test(arguments: [("GET", "/nope"), ("DELETE", "/health"), ("GET", "/api/v1/unknown/route"), ("PUT", "/api/v1/events")])
    func unknownRoutesAndMethodsGetTheEnvelope(method: String, path: String) async throws {
        try await TestHub.run { hub in
            let result = try await hub.request(HTTPRequest.Method(method)!, path)
            #expect(result.status == 404)
            #expect(result.errorCode == "NOT_FOUND")
            #expect(result.headers[.init("X-Request-ID")!] != nil)
        }
    }

    @Test func publishNeedsCredentialsAndPermission() async throws {
        try await TestHub.run { hub in
            let body = #"{"topic":"application:a:status","event":"x","data":{}}"#
            let anonymous = try await hub.request(.post, "/api/v1/events", json: body)
            #expect(anonymous.status == 401)
            #expect(anonymous.errorCode == "UNAUTHORIZED")
            let viewer = try await hub.token(roles: [RoleGrant(role: "viewer")])
            let forbidden = try await hub.request(.post, "/api/v1/events", token: viewer, json: body)
            #expect(forbidden.status == 403)
            #expect(forbidden.errorCode == "FORBIDDEN")
        }
    }

    @Test(arguments: [
        "not json", "[]", #"{"topic":"bad topic","event":"x"}"#, #"{"topic":"application:*:status","event":"x"}"#,
        #"{"topic":"application:a:status","event":"has space"}"#, #"{"topic":"application:a:status"}"#,
        #"{"topic":5,"event":"x"}"#, #"{"events":[]}"#, #"{"topic":"application:a:status","event":"x","team_id":"a:b"}"#,
    ])
    func publishValidation(body: String) async throws {
        try await TestHub.run { hub in
            let result = try await hub.request(.post, "/api/v1/events", token: try await hub.token(), json: body)
            #expect(result.status == 400)
            #expect(result.errorCode == "VALIDATION_ERROR")
        }
    }

    @Test func batchPublishAndItsLimit() async throws {
        try await TestHub.run(configure: { $0.limits.maxBatchEvents = 3 }) { hub in
            let token = try await hub.token()
            let item = #"{"topic":"application:a:status","event":"x"}"#
            let ok = try await hub.request(.post, "/api/v1/events", token: token, json: #"{"events":[\#(item),\#(item),\#(item)]}"#)
            #expect(ok.status == 200)
            let offsets = (ok.data["events"] as? [[String: Any]] ?? []).compactMap { $0["offset"] as? String }
            #expect(offsets.count == 3)
            #expect(Set(offsets).count == 3)
            let over = try await hub.request(.post, "/api/v1/events", token: token, json: #"{"events":[\#(item),\#(item),\#(item),\#(item)]}"#)
            #expect(over.status == 400)
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        try await TestHub.run(configure: { $0.server.maxBodyBytes = 1000 }) { hub in
            let token = try await hub.token()
            let pad = String(repeating: "x", count: 1200)
            let result = try await hub.request(.post, "/api/v1/events", token: token, json: #"{"topic":"application:a:status","event":"x","data":{"p":"\#(pad)"}}"#)
            #expect(result.status == 413)
            #expect(result.errorCode == "PAYLOAD_TOO_LARGE")
        }
    }

    @Test func historyReturnsEventsAfterAnOffset() async throws {
        try await TestHub.run { hub in
            let topic = "application:h:status"
            var offsets: [String] = []
            for index in 0..<5 { offsets.append(try await hub.publish(topic, data: #"{"n":\#(index)}"#)) }
            let token = try await hub.token()
            let all = try await hub.request(.get, "/api/v1/topics/\(topic)/history", token: token)
            #expect((all.data["events"] as? [[String: Any]])?.count == 5)
            let after = try await hub.request(.get, "/api/v1/topics/\(topic)/history?since=\(offsets[2])", token: token)
            let events = after.data["events"] as? [[String: Any]] ?? []
            #expect(events.compactMap { $0["offset"] as? String } == Array(offsets[3...]))
            #expect(after.data["resync"] as? Bool == false)
            #expect(after.data["latest"] as? String == offsets[4])
            let limited = try await hub.request(.get, "/api/v1/topics/\(topic)/history?limit=2", token: token)
            #expect((limited.data["events"] as? [[String: Any]])?.count == 2)
            #expect(limited.data["has_more"] as? Bool == true)
            let stale = try await hub.request(.get, "/api/v1/topics/\(topic)/history?since=eother:1", token: token)
            #expect(stale.data["resync"] as? Bool == true)
            let bad = try await hub.request(.get, "/api/v1/topics/\(topic)/history?since=garbage", token: token)
            #expect(bad.status == 400)
            let viewer = try await hub.token(roles: [RoleGrant(role: "custom", permissions: [Permission("operation:read")!])])
            let forbidden = try await hub.request(.get, "/api/v1/topics/\(topic)/history", token: viewer)
            #expect(forbidden.status == 403)
        }
    }

    @Test func applicationStatusComesFromTheLastValueCache() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let missing = try await hub.request(.get, "/api/v1/status/applications/app_1", token: token)
            #expect(missing.status == 404)
            let offset = try await hub.publish("application:app_1:status", data: #"{"status":"running"}"#)
            let found = try await hub.request(.get, "/api/v1/status/applications/app_1", token: token)
            #expect(found.status == 200)
            #expect(found.data["offset"] as? String == offset)
            #expect((found.data["data"] as? [String: Any])?["status"] as? String == "running")
        }
    }

    @Test func identityAndPermissions() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token(sub: "dev", tenant: "acme", roles: [RoleGrant(role: "viewer", scope: .team("frontend"))])
            let me = try await hub.request(.get, "/api/v1/users/me", token: token)
            #expect(me.data["user_id"] as? String == "dev")
            #expect(me.data["tenant"] as? String == "acme")
            let permissions = try await hub.request(.get, "/api/v1/users/me/permissions", token: token)
            let grants = permissions.data["permissions"] as? [[String: Any]] ?? []
            #expect(grants.contains { $0["permission"] as? String == "*:read" && $0["scope"] as? String == "team:frontend" })
            #expect(try await hub.request(.get, "/api/v1/users/me").status == 401)
        }
    }

    @Test func statusReadyAndMetrics() async throws {
        try await TestHub.run { hub in
            let status = try await hub.request(.get, "/api/v1/status", token: try await hub.token())
            #expect(status.data["status"] as? String == "ok")
            #expect(try await hub.request(.get, "/ready").status == 200)
            let probe = try await connect(hub)
            _ = try await subscribe(probe, ["application:m:status"])
            try await hub.publish("application:m:status")
            _ = try await probe.next()
            let metrics = try await hub.request(.get, "/metrics")
            #expect(metrics.status == 200)
            for name in [
                "hub_connections", "hub_subscriptions", "hub_events_published_total", "hub_frames_delivered_total",
                "hub_fanout_duration_seconds", "hub_http_requests_total", "hub_http_request_duration_seconds",
            ] {
                #expect(metrics.text.contains(name), "missing \(name)")
            }
        }
    }
}
