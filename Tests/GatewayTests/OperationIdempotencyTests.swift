import Foundation
import Gateway
import HTTPTypes
import HubTesting
import Operations
import Protocol
import Testing

@Suite("Operations idempotency")
struct OperationIdempotencyTests {
    static let key = HTTPField.Name("Idempotency-Key")!

    @Test func aRetryGetsTheFirstAnswer() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let first = try await hub.request(.post, "/api/v1/operations", token: token, json: deployBody(), headers: [Self.key: "deploy-1"])
            #expect(first.status == 201)
            let id = try #require(first.data["operation_id"] as? String)
            // The operation moves on; a retry still gets the answer of the first request.
            _ = try await hub.patchOperation(id, #"{"status":"in_progress"}"#)
            // Same body with keys in another order and other spacing is the same request.
            let reordered = #"{ "stages":["build","ship","verify"], "team_id":"frontend", "target":{"id":"app_1","kind":"application"}, "type":"deploy" }"#
            let retry = try await hub.request(.post, "/api/v1/operations", token: token, json: reordered, headers: [Self.key: "deploy-1"])
            #expect(retry.status == 201)
            #expect(retry.data["operation_id"] as? String == id)
            #expect(retry.data["version"] as? Int == 1)
            #expect(retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            let list = try await hub.request(.get, "/api/v1/operations", token: token)
            #expect((list.json["pagination"] as? [String: Any])?["total"] as? Int == 1)

            let mismatch = try await hub.request(
                .post, "/api/v1/operations", token: token, json: deployBody(app: "app_2"), headers: [Self.key: "deploy-1"])
            #expect(mismatch.status == 422)
            #expect(mismatch.errorCode == "UNPROCESSABLE")

            // Scoped to the caller and the tenant.
            let bob = try await hub.token(sub: "bob")
            let bobs = try await hub.request(.post, "/api/v1/operations", token: bob, json: deployBody(), headers: [Self.key: "deploy-1"])
            #expect(bobs.status == 201)
            #expect(bobs.data["operation_id"] as? String != id)
            let globex = try await hub.token(tenant: "globex")
            let theirs = try await hub.request(.post, "/api/v1/operations", token: globex, json: deployBody(), headers: [Self.key: "deploy-1"])
            #expect(theirs.data["operation_id"] as? String != id)
            #expect(theirs.data["tenant"] as? String == "globex")

            let bad = try await hub.request(.post, "/api/v1/operations", token: token, json: deployBody(), headers: [Self.key: "has space"])
            #expect(bad.status == 400)
        }
    }

    @Test func aFirstRequestStillInFlightIsAConflict() async throws {
        try await TestHub.run { hub in
            let body = deployBody()
            var writer = JSONWriter()
            writer.value(try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)))
            let fingerprint = String(decoding: writer.bytes, as: UTF8.self)
            // The first request has claimed the key and not finished.
            let claim = try await hub.server.operations.store.claimIdempotencyKey(
                IdempotencyKey(tenant: "acme", caller: "alice", key: "slow-1"), fingerprint: fingerprint, now: Date(), ttl: 86_400, lease: 60)
            #expect(claim == .claimed)
            let second = try await hub.request(.post, "/api/v1/operations", token: try await hub.token(), json: body, headers: [Self.key: "slow-1"])
            #expect(second.status == 409)
            #expect(second.errorCode == "CONFLICT")
            let other = try await hub.request(
                .post, "/api/v1/operations", token: try await hub.token(), json: deployBody(app: "x"), headers: [Self.key: "slow-1"])
            #expect(other.status == 422)
        }
    }
}
