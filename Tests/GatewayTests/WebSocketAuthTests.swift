import Foundation
import HTTPTypes
import Gateway
import Hub
import HubTesting
import Protocol
import Testing

@Suite("WebSocket authentication")
struct WebSocketAuthTests {
    @Test func welcomeCarriesIdentityAndLimits() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token(sub: "alice", tenant: "acme")
            let probe = WSProbe(url: hub.wsURL + "?token=" + token)
            let welcome = try await probe.next()
            #expect(welcome["type"] as? String == "welcome")
            #expect(welcome["user_id"] as? String == "alice")
            #expect(welcome["tenant"] as? String == "acme")
            #expect(welcome["max_message_bytes"] as? Int == 65536)
            #expect(welcome["heartbeat_interval_ms"] as? Int == 25000)
            #expect((welcome["connection_id"] as? String)?.hasPrefix("c_") == true)
            #expect(welcome["expires_at"] is String)
            probe.close()
            #expect(try await probe.closed() == 1000)
        }
    }

    @Test func bearerHeaderIsAccepted() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let probe = WSProbe(url: hub.wsURL, headers: [.authorization: "Bearer \(token)"])
            #expect(try await probe.next()["type"] as? String == "welcome")
        }
    }

    @Test(arguments: [
        ("", "UNAUTHORIZED"), ("?token=garbage", "UNAUTHORIZED"), ("?token=a.b.c", "UNAUTHORIZED"),
    ])
    func badCredentialsGetErrorFrameAndClose4001(query: String, code: String) async throws {
        try await TestHub.run { hub in
            let probe = WSProbe(url: hub.wsURL + query)
            let frame = try await probe.next()
            #expect(frame["type"] as? String == "error")
            #expect((frame["error"] as? [String: Any])?["code"] as? String == code)
            #expect(try await probe.closed() == 4001)
        }
    }

    @Test func wronglySignedTokenIsRefused() async throws {
        try await TestHub.run { hub in
            let other = await TokenSigner(secret: String(repeating: "x", count: 40))
            let token = try await other.sign(subject: "alice", tenant: "acme", roles: [RoleGrant(role: "admin")], ttl: 3600)
            let probe = WSProbe(url: hub.wsURL + "?token=" + token)
            let frame = try await probe.next()
            #expect((frame["error"] as? [String: Any])?["code"] as? String == "UNAUTHORIZED")
            #expect(try await probe.closed() == 4001)
        }
    }

    @Test func expiredTokenGetsTokenExpired() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token(ttl: 60, now: Date().addingTimeInterval(-3600))
            let probe = WSProbe(url: hub.wsURL + "?token=" + token)
            let frame = try await probe.next()
            #expect((frame["error"] as? [String: Any])?["code"] as? String == "TOKEN_EXPIRED")
            #expect(try await probe.closed() == 4001)
        }
    }

    @Test func disallowedOriginIsRefusedWithoutUpgrade() async throws {
        try await TestHub.run(configure: { $0.allowedOrigins = ["https://dash.example"] }) { hub in
            let token = try await hub.token()
            let refused = WSProbe(url: hub.wsURL + "?token=" + token, headers: [.origin: "https://evil.example"])
            await #expect(throws: (any Error).self) { _ = try await refused.closed() }
            let missing = WSProbe(url: hub.wsURL + "?token=" + token)
            await #expect(throws: (any Error).self) { _ = try await missing.closed() }
            let allowed = WSProbe(url: hub.wsURL + "?token=" + token, headers: [.origin: "https://dash.example"])
            #expect(try await allowed.next()["type"] as? String == "welcome")
        }
    }

    @Test func refusedUpgradesAreAnsweredWithTheEnvelopeAndClosed() async throws {
        try await TestHub.run(configure: { $0.allowedOrigins = ["https://dash.example"] }) { hub in
            let token = try await hub.token()
            let upgrade: HTTPFields = [
                .upgrade: "websocket", .connection: "Upgrade", .secWebSocketVersion: "13",
                .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
            ]
            var evil = upgrade
            evil[.origin] = "https://evil.example"
            let forbidden = try await hub.request(.get, "/ws/v1?token=\(token)", headers: evil)
            #expect(forbidden.status == 403)
            #expect(forbidden.errorCode == "FORBIDDEN")
            #expect(forbidden.headers[.connection] == "close")
            #expect(forbidden.headers[HTTPField.Name("X-Request-ID")!] != nil)

            var elsewhere = upgrade
            elsewhere[.origin] = "https://dash.example"
            let notFound = try await hub.request(.get, "/ws/v2?token=\(token)", headers: elsewhere)
            #expect(notFound.status == 404)
            #expect(notFound.errorCode == "NOT_FOUND")
        }
    }

    @Test func authRefreshReplacesCredentials() async throws {
        try await TestHub.run { hub in
            let probe = WSProbe(url: hub.wsURL + "?token=" + (try await hub.token(ttl: 120)))
            _ = try await probe.next(type: "welcome")
            let fresh = try await hub.token(ttl: 7200)
            probe.send(json: ["type": "auth", "id": "4", "token": fresh])
            let reply = try await probe.next()
            #expect(reply["type"] as? String == "authenticated")
            #expect(reply["id"] as? String == "4")
            let text = try #require(reply["expires_at"] as? String)
            let expires = try #require(Timestamp.parse(text))
            #expect(expires > Date().addingTimeInterval(3600))
        }
    }

    @Test func authWithBadTokenIsAnErrorFrameOnly() async throws {
        try await TestHub.run { hub in
            let probe = WSProbe(url: hub.wsURL + "?token=" + (try await hub.token()))
            _ = try await probe.next(type: "welcome")
            probe.send(json: ["type": "auth", "id": "5", "token": "nope"])
            let reply = try await probe.next()
            #expect(reply["type"] as? String == "error")
            #expect(reply["id"] as? String == "5")
            probe.send(json: ["type": "ping", "id": "6"])
            #expect(try await probe.next()["type"] as? String == "pong")
        }
    }

    @Test func authChangingSubjectCloses4003() async throws {
        try await TestHub.run { hub in
            let probe = WSProbe(url: hub.wsURL + "?token=" + (try await hub.token(sub: "alice")))
            _ = try await probe.next(type: "welcome")
            probe.send(json: ["type": "auth", "token": try await hub.token(sub: "mallory")])
            #expect(try await probe.next()["type"] as? String == "error")
            #expect(try await probe.closed() == 4003)
        }
    }

    @Test func credentialsExpiringMidSessionClose4001() async throws {
        try await TestHub.run(configure: { $0.auth.leewaySeconds = 0 }) { hub in
            // The token must still be valid at the upgrade: on a loaded machine the
            // connection may take longer than a short lifetime, so it grows until it does.
            var ttl = 2.0
            var connected: WSProbe?
            while connected == nil {
                let candidate = WSProbe(url: hub.wsURL + "?token=" + (try await hub.token(ttl: ttl)))
                let first = try await candidate.next()
                if first["type"] as? String == "welcome" {
                    connected = candidate
                } else {
                    #expect((first["error"] as? [String: Any])?["code"] as? String == "TOKEN_EXPIRED")
                    guard ttl < 30 else {
                        Issue.record("could not connect within the token's lifetime")
                        return
                    }
                    ttl *= 2
                }
            }
            let probe = try #require(connected)
            let frame = try await probe.next(timeout: ttl + 4)
            #expect((frame["error"] as? [String: Any])?["code"] as? String == "TOKEN_EXPIRED")
            #expect(try await probe.closed() == 4001)
        }
    }

    @Test func connectionsPerUserLimit() async throws {
        try await TestHub.run(configure: { $0.limits.maxConnectionsPerUser = 2 }) { hub in
            let token = try await hub.token(sub: "alice")
            let first = WSProbe(url: hub.wsURL + "?token=" + token)
            let second = WSProbe(url: hub.wsURL + "?token=" + token)
            _ = try await first.next(type: "welcome")
            _ = try await second.next(type: "welcome")
            let third = WSProbe(url: hub.wsURL + "?token=" + token)
            let frame = try await third.next()
            #expect((frame["error"] as? [String: Any])?["code"] as? String == "TOO_MANY_CONNECTIONS")
            #expect(try await third.closed() == 4029)
            let other = WSProbe(url: hub.wsURL + "?token=" + (try await hub.token(sub: "bob")))
            #expect(try await other.next()["type"] as? String == "welcome")
            first.close()
            _ = try await first.closed()
            // The server releases the slot right after the close handshake: retry until it has.
            let welcomed = try await withTimeout(10, "a slot to free up") {
                while true {
                    let again = WSProbe(url: hub.wsURL + "?token=" + token)
                    if try await again.next()["type"] as? String == "welcome" { return true }
                }
            }
            #expect(welcomed)
        }
    }
}
