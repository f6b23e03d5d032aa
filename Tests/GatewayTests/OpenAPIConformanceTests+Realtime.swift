import Foundation
import Gateway
import Hub
import HTTPTypes
import HubTesting
import Protocol
import Testing

/// The SSE routes and the WebSocket upgrade against the spec.
extension OpenAPIConformanceTests {
    /// Opens an SSE stream and checks its response head against the spec.
    func openStream(_ hub: TestHub, _ path: String, headers: [(String, String)] = []) async throws -> SSEProbe {
        let probe = SSEProbe(port: hub.port, path: path, headers: headers)
        let head = try #require(OpenAPIResponse(head: try await probe.head()))
        #expect(head.status == 200, "\(path)")
        spec.expectConforms("GET", path, head)
        return probe
    }

    func expectMessage(_ probe: SSEProbe, _ path: String, event: String?) async throws -> SSEProbe.Message {
        let message = try await probe.next()
        #expect(message.event == event, "\(message)")
        spec.expectItemConforms("GET", path, mediaType: "text/event-stream", message.data)
        return message
    }

    @Test func theEventStream() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let path = "/api/v1/stream?topics=application:s1:status,application:*:status,bad%20topic,billing:x:y"
            let probe = try await openStream(hub, path, headers: [("Authorization", "Bearer \(token)")])
            let subscribed = try await expectMessage(probe, path, event: "subscribed")
            #expect((subscribed.json["denied"] as? [[String: Any]])?.count == 2)
            let offset = try await hub.publish("application:s1:status", data: #"{"status":"up"}"#)
            let event = try await expectMessage(probe, path, event: nil)
            #expect(event.id == "application:s1:status@\(offset)")
            probe.cancel()

            // Resumed with Last-Event-ID, credentials in the query string.
            let resumed = "/api/v1/stream?topics=application:s1:status&token=\(token)"
            let again = try await openStream(hub, resumed, headers: [("Last-Event-ID", "application:s1:status@\(offset)")])
            _ = try await expectMessage(again, resumed, event: "subscribed")
            again.cancel()

            try await spec.call(hub, .get, "/api/v1/stream", token: token, expect: 400)
            try await spec.call(hub, .get, "/api/v1/stream?topics=", token: token, expect: 400)
            try await spec.call(hub, .get, "/api/v1/stream?topics=application:s1:status", expect: 401)
            hub.server.core.registry.drain()
            try await spec.call(hub, .get, "/api/v1/stream?topics=application:s1:status", token: token, expect: 503)
        }
    }

    @Test func theOperationEventStream() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let id = try await spec.createOperation(hub, token: token)
            let created = try await spec.call(hub, .get, "/api/v1/operations/\(id)", token: token, expect: 200)
            let offset = try #require(created.data["offset"] as? String)
            let path = "/api/v1/operations/\(id)/events"
            let probe = try await openStream(hub, path, headers: [("Authorization", "Bearer \(token)")])
            _ = try await expectMessage(probe, path, event: "subscribed")
            try await spec.call(hub, .patch, "/api/v1/operations/\(id)", token: token, json: #"{"status":"in_progress","progress":5}"#, expect: 200)
            let event = try await expectMessage(probe, path, event: nil)
            #expect(event.id?.hasPrefix("operation:\(id):progress@") == true)
            probe.cancel()

            let since = "\(path)?since=\(offset)&token=\(token)"
            let replay = try await openStream(hub, since)
            _ = try await expectMessage(replay, since, event: "subscribed")
            #expect(try await expectMessage(replay, since, event: nil).json["event"] as? String == "status_changed")
            replay.cancel()

            try await spec.call(hub, .get, "\(path)?since=garbage", token: token, expect: 400)
            try await spec.call(hub, .get, path, expect: 401)
            try await spec.call(hub, .get, path, token: try await hub.token(roles: Self.roles(["event:publish"])), expect: 403)
            try await spec.call(hub, .get, "/api/v1/operations/op_doesnotexist0000000/events", token: token, expect: 404)
        }
    }

    @Test func streamsOverTheConnectionLimitAre429() async throws {
        try await TestHub.run(configure: { $0.limits.maxConnectionsPerUser = 1 }) { hub in
            let token = try await hub.token()
            let id = try await spec.createOperation(hub, token: token)
            let path = "/api/v1/stream?topics=application:s1:status"
            let holding = try await openStream(hub, path, headers: [("Authorization", "Bearer \(token)")])
            let refused = try await spec.call(hub, .get, path, token: token, expect: 429)
            #expect(refused.errorCode == "TOO_MANY_CONNECTIONS")
            try await spec.call(hub, .get, "/api/v1/operations/\(id)/events", token: token, expect: 429)
            holding.cancel()
        }
    }

    @Test func theWebSocketUpgrade() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let probe = WSProbe(url: hub.wsURL + "?token=" + token)
            let head = try #require(OpenAPIResponse(head: try await probe.handshake()))
            #expect(head.status == 101)
            #expect(head.values("Upgrade").first?.lowercased() == "websocket")
            #expect(!head.values("Sec-WebSocket-Accept").isEmpty)
            #expect(try await probe.next()["type"] as? String == "welcome")
            probe.close()

            // A plain GET of the WebSocket path is not an upgrade.
            try await spec.call(hub, .get, "/ws/v1", token: token, expect: 404)
            // An upgrade of another path is refused with the envelope (no spec path claims it).
            let elsewhere = try await hub.request(.get, "/ws/v2", token: token, headers: OpenAPISpecCheck.upgradeHeaders)
            #expect(elsewhere.status == 404)
            #expect(elsewhere.headers[.connection] == "close")
            #expect(spec.conformance.bodyProblems(elsewhere.body, ref: "#/components/schemas/NotFoundEnvelope").isEmpty)

            hub.server.core.registry.drain()
            let draining = try await spec.call(hub, .get, "/ws/v1?token=\(token)", headers: OpenAPISpecCheck.upgradeHeaders, expect: 503)
            #expect(draining.headers[.connection] == "close")
        }
    }

    /// API.md: every response carries `X-Request-ID`, the 101 of an upgrade too.
    @Test
    func theWebSocketUpgradeResponseCarriesARequestID() async throws {
        try await TestHub.run { hub in
            let probe = WSProbe(url: hub.wsURL + "?token=" + (try await hub.token()))
            let head = try #require(OpenAPIResponse(head: try await probe.handshake()))
            #expect(head.status == 101)
            spec.expectConforms("GET", "/ws/v1", head)
            probe.close()
        }
    }

    @Test func aRefusedOriginIs403WithTheEnvelope() async throws {
        try await TestHub.run(configure: { $0.allowedOrigins = ["https://dash.example"] }) { hub in
            var headers = OpenAPISpecCheck.upgradeHeaders
            headers[.origin] = "https://evil.example"
            let token = try await hub.token()
            try await spec.call(hub, .get, "/ws/v1?token=\(token)", headers: headers, expect: 403)
            try await spec.call(hub, .get, "/ws/v1?token=\(token)", headers: OpenAPISpecCheck.upgradeHeaders, expect: 403)
        }
    }

    /// API.md: `X-Request-ID` is the client's, if it sent a sane one.
    @Test
    func aRefusedUpgradeEchoesTheClientsRequestID() async throws {
        try await TestHub.run(configure: { $0.allowedOrigins = ["https://dash.example"] }) { hub in
            var headers = OpenAPISpecCheck.upgradeHeaders
            headers[.origin] = "https://evil.example"
            headers[HTTPField.Name("X-Request-ID")!] = "client-upgrade-1"
            let refused = try await spec.call(hub, .get, "/ws/v1", headers: headers, expect: 403)
            #expect(refused.headers[HTTPField.Name("X-Request-ID")!] == "client-upgrade-1")
        }
    }

    /// With `websocket.compression` the upgrade goes through Hummingbird's
    /// WebSocket transport; its refusals must be the same documented answers.
    @Test
    func refusedUpgradesWithCompressionAnswerTheEnvelope() async throws {
        try await TestHub.run(configure: {
            $0.allowedOrigins = ["https://dash.example"]
            $0.websocket.compression = true
        }) { hub in
            let token = try await hub.token()
            var headers = OpenAPISpecCheck.upgradeHeaders
            headers[.origin] = "https://evil.example"
            try await spec.call(hub, .get, "/ws/v1?token=\(token)", headers: headers, expect: 403)
            headers[.origin] = "https://dash.example"
            hub.server.core.registry.drain()
            try await spec.call(hub, .get, "/ws/v1?token=\(token)", headers: headers, expect: 503)
        }
    }
}
