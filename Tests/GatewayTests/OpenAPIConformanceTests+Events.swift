import Foundation
import Gateway
import Hub
import HTTPTypes
import HubTesting
import Protocol
import Testing

/// `POST /api/v1/events` and `GET /api/v1/topics/{topic}/history` against the spec.
extension OpenAPIConformanceTests {
    @Test func publishingAndHistory() async throws {
        try await TestHub.run(configure: { $0.limits.maxBatchEvents = 3 }) { hub in
            let token = try await hub.token()
            let topic = "application:app_9:status"
            let one = try await spec.call(
                hub, .post, "/api/v1/events", token: token,
                json: #"{"topic":"\#(topic)","event":"status_changed","data":{"status":"running"},"team_id":"frontend"}"#, expect: 200)
            let first = try #require((one.data["events"] as? [[String: Any]])?.first?["offset"] as? String)
            let item = #"{"topic":"\#(topic)","event":"deployment_started"}"#
            let batch = try await spec.call(hub, .post, "/api/v1/events", token: token, json: #"{"events":[\#(item),\#(item)]}"#, expect: 200)
            #expect((batch.data["events"] as? [[String: Any]])?.count == 2)
            try await spec.call(hub, .post, "/api/v1/events", token: token, json: #"{"topic":"user:bob:notifications","event":"hello"}"#, expect: 200)

            for body in [
                "not json", "", #"{"events":[]}"#, #"{"events":[\#(item),\#(item),\#(item),\#(item)]}"#, #"{"topic":"a b","event":"x"}"#,
                #"{"topic":"application:*:status","event":"x"}"#, #"{"topic":"user:notifications","event":"x"}"#,
                #"{"topic":"\#(topic)","event":"has space"}"#, #"{"topic":"\#(topic)","event":"x","team_id":"a:b"}"#, #"{"event":"x"}"#,
            ] {
                try await spec.call(hub, .post, "/api/v1/events", token: token, json: body, expect: 400)
            }
            try await spec.call(hub, .post, "/api/v1/events", json: item, expect: 401)
            try await spec.call(hub, .post, "/api/v1/events", token: try await hub.token(roles: [RoleGrant(role: "viewer")]), json: item, expect: 403)

            let history = "/api/v1/topics/\(topic)/history"
            let all = try await spec.call(hub, .get, history, token: token, expect: 200)
            #expect((all.data["events"] as? [[String: Any]])?.count == 3)
            let after = try await spec.call(hub, .get, "\(history)?since=\(first)&limit=1", token: token, expect: 200)
            #expect(after.data["has_more"] as? Bool == true)
            let stale = try await spec.call(hub, .get, "\(history)?since=zzother:5", token: token, expect: 200)
            #expect(stale.data["resync"] as? Bool == true)
            let empty = try await spec.call(hub, .get, "/api/v1/topics/application:quiet:status/history", token: token, expect: 200)
            #expect(empty.data["latest"] == nil)
            try await spec.call(hub, .get, "/api/v1/topics/user:notifications/history", token: try await hub.token(sub: "bob"), expect: 200)

            for bad in ["\(history)?since=garbage", "\(history)?limit=0", "/api/v1/topics/application:*:status/history", "/api/v1/topics/a::b/history"] {
                try await spec.call(hub, .get, bad, token: token, expect: 400)
            }
            try await spec.call(hub, .get, history, expect: 401)
            try await spec.call(hub, .get, history, token: try await hub.token(roles: Self.roles(["operation:read"])), expect: 403)
            try await spec.call(hub, .get, "/api/v1/topics/billing:x:y/history", token: token, expect: 403)
        }
    }

    @Test func publishBodyOverTheLimitIs413() async throws {
        try await TestHub.run(configure: { $0.server.maxBodyBytes = 512 }) { hub in
            let pad = String(repeating: "x", count: 600)
            try await spec.call(
                hub, .post, "/api/v1/events", token: try await hub.token(),
                json: #"{"topic":"application:a:status","event":"x","data":{"p":"\#(pad)"}}"#, expect: 413)
        }
    }
}
