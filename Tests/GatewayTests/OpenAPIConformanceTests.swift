import Foundation
import Gateway
import Hub
import HTTPTypes
import HubTesting
import Operations
import Protocol
import Testing

/// Real requests against a live hub, each answer checked against
/// `Docs/openapi.yaml` (status documented for the route, content type,
/// required headers, body schema) as well as for the status API.md gives.
/// The operations routes are here; events, status and the real-time routes
/// are in the `+Events`, `+Status` and `+Realtime` files.
@Suite("OpenAPI conformance (live)")
struct OpenAPIConformanceTests {
    let spec: OpenAPISpecCheck

    init() throws {
        spec = try OpenAPISpecCheck()
    }

    static func roles(_ permissions: [String], scope: RoleScope? = nil) -> [RoleGrant] {
        [RoleGrant(role: "custom", scope: scope, permissions: permissions.compactMap(Permission.init))]
    }

    @Test func anOperationsWholeLife() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "deploy-42"]
            let created = try await spec.call(
                hub, .post, "/api/v1/operations", token: token, json: OpenAPISpecCheck.deployBody, headers: key, expect: 201)
            let id = try #require(created.data["operation_id"] as? String)
            #expect(created.headers[.location] == "/api/v1/operations/\(id)")
            #expect(created.headers[.eTag] == "\"1\"")
            let replayed = try await spec.call(
                hub, .post, "/api/v1/operations", token: token, json: OpenAPISpecCheck.deployBody, headers: key, expect: 201)
            #expect(replayed.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(replayed.data["operation_id"] as? String == id)
            try await spec.call(
                hub, .post, "/api/v1/operations", token: token, json: #"{"type":"other","target":{"kind":"k","id":"i"}}"#,
                headers: key, expect: 422)

            let page = try await spec.call(hub, .get, "/api/v1/operations?status=pending,in_progress&type=deploy&per_page=1", token: token, expect: 200)
            #expect((page.json["pagination"] as? [String: Any])?["total"] as? Int == 1)
            try await spec.call(hub, .get, "/api/v1/operations?target_kind=application&target_id=app_123&team_id=frontend&page=2", token: token, expect: 200)

            let read = try await spec.call(hub, .get, "/api/v1/operations/\(id)", token: token, expect: 200)
            #expect(read.headers[.retryAfter] != nil, "a pending operation carries Retry-After")
            let same = try await spec.call(hub, .get, "/api/v1/operations/\(id)", token: token, headers: [.ifNoneMatch: "\"1\""], expect: 304)
            #expect(same.headers[.eTag] == "\"1\"")

            let started = try await spec.call(
                hub, .patch, "/api/v1/operations/\(id)", token: token,
                json: #"{"status":"in_progress","progress":10,"current_stage":"build","message":"Building","estimated_completion":"2030-01-01T00:00:00Z"}"#,
                headers: [.ifMatch: "\"1\""], expect: 200)
            #expect(started.data["started_at"] is String)
            try await spec.call(hub, .patch, "/api/v1/operations/\(id)", token: token, json: #"{"progress":20}"#, headers: [.ifMatch: "\"1\""], expect: 412)

            let appended = try await spec.call(
                hub, .post, "/api/v1/operations/\(id)/logs", token: token, json: #"{"lines":["one","two","three"]}"#, expect: 201)
            #expect(appended.data["last_sequence"] as? Int == 3)
            try await spec.call(hub, .get, "/api/v1/operations/\(id)/logs", token: token, expect: 200)
            let paged = try await spec.call(hub, .get, "/api/v1/operations/\(id)/logs?after=1&limit=1&follow=false", token: token, expect: 200)
            #expect(paged.data["has_more"] as? Bool == true)

            let cancelling = try await spec.call(hub, .post, "/api/v1/operations/\(id)/cancel", token: token, expect: 200)
            #expect(cancelling.data["status"] as? String == "cancelling")
            try await spec.call(hub, .post, "/api/v1/operations/\(id)/cancel", token: token, expect: 200)
            let cancelled = try await spec.call(hub, .patch, "/api/v1/operations/\(id)", token: token, json: #"{"status":"cancelled"}"#, expect: 200)
            #expect(cancelled.headers[.retryAfter] == nil, "a terminal operation carries no Retry-After")

            // Following a finished operation's log sends what is left and `end`: a whole NDJSON body.
            let followed = try await spec.call(hub, .get, "/api/v1/operations/\(id)/logs?follow=true&after=1", token: token, expect: 200)
            #expect(followed.headers[.contentType] == "application/x-ndjson")
            #expect(followed.text.split(separator: "\n").count == 3)
            #expect(followed.text.contains(#""type":"end""#))

            try await spec.call(hub, .delete, "/api/v1/operations/\(id)", token: token, headers: [.ifMatch: "*"], expect: 200)
            try await spec.call(hub, .get, "/api/v1/operations/\(id)", token: token, expect: 404)
        }
    }

    @Test func operationRequestErrors() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let path = "/api/v1/operations"
            for body in [
                "not json", "[1]", #"{"type":"deploy"}"#, #"{"type":"deploy","target":{"kind":"a","id":"b"},"colour":1}"#,
                #"{"type":"bad type","target":{"kind":"a","id":"b"}}"#, #"{"type":"x","target":{"kind":"a","id":"b"},"heartbeat_timeout_seconds":0}"#,
            ] {
                let refused = try await spec.call(hub, .post, path, token: token, json: body, expect: 400)
                #expect(refused.errorCode == "VALIDATION_ERROR")
            }
            try await spec.call(hub, .post, path, token: token, expect: 400)
            try await spec.call(hub, .post, path, json: OpenAPISpecCheck.deployBody, expect: 401)
            try await spec.call(hub, .post, path, token: "not.a.token", json: OpenAPISpecCheck.deployBody, expect: 401)
            let expired = try await hub.token(ttl: 60, now: Date().addingTimeInterval(-3600))
            try await spec.call(hub, .get, path, token: expired, expect: 401)
            let viewer = try await hub.token(roles: [RoleGrant(role: "viewer")])
            try await spec.call(hub, .post, path, token: viewer, json: OpenAPISpecCheck.deployBody, expect: 403)
            let teamCreator = try await hub.token(roles: Self.roles(["operation:create"], scope: .team("backend")))
            try await spec.call(hub, .post, path, token: teamCreator, json: OpenAPISpecCheck.deployBody, expect: 403)

            for query in ["per_page=500", "per_page=0", "page=0", "status=bogus"] {
                try await spec.call(hub, .get, "\(path)?\(query)", token: token, expect: 400)
            }
            try await spec.call(hub, .get, path, expect: 401)
            try await spec.call(hub, .get, path, token: try await hub.token(roles: Self.roles(["event:publish"])), expect: 403)

            let id = try await spec.createOperation(hub, token: token)
            let one = "\(path)/\(id)"
            try await spec.call(hub, .get, "\(one)?wait_seconds=61", token: token, expect: 400)
            try await spec.call(hub, .get, "\(one)?wait_seconds=soon", token: token, expect: 400)
            try await spec.call(hub, .get, one, expect: 401)
            try await spec.call(hub, .get, one, token: try await hub.token(roles: Self.roles(["event:publish"])), expect: 403)
            try await spec.call(hub, .get, "\(path)/op_doesnotexist0000000", token: token, expect: 404)
            try await spec.call(hub, .get, one, token: try await hub.token(tenant: "globex"), expect: 404)
            let otherTeam = try await hub.token(roles: Self.roles(["operation:read", "operation:update"], scope: .team("backend")))
            try await spec.call(hub, .get, one, token: otherTeam, expect: 404)
            try await spec.call(hub, .patch, one, token: otherTeam, json: #"{"progress":5}"#, expect: 404)
            let readOnly = try await hub.token(roles: Self.roles(["operation:read", "operation:cancel", "operation:delete"], scope: .team("backend")) + [RoleGrant(role: "viewer")])
            try await spec.call(hub, .post, "\(one)/cancel", token: readOnly, expect: 403)

            for body in [#"{"progress":150}"#, #"{"progres":5}"#, #"{"current_stage":"nope"}"#, #"{"error":{"code":"X"}}"#, "{", #"{"status":"done"}"#] {
                try await spec.call(hub, .patch, one, token: token, json: body, expect: 400)
            }
            try await spec.call(hub, .patch, one, token: token, json: #"{"progress":5}"#, headers: [.ifMatch: "\"1\", \"2\""], expect: 400)
            try await spec.call(hub, .patch, one, token: token, json: #"{"status":"succeeded"}"#, expect: 409)
            try await spec.call(hub, .delete, one, token: token, expect: 409)
            try await spec.call(hub, .delete, one, token: token, headers: [.ifMatch: "\"7\""], expect: 412)
            try await spec.call(hub, .post, "\(one)/cancel", token: token, headers: [.ifMatch: "\"7\""], expect: 412)
            try await spec.call(hub, .post, "\(one)/logs", token: token, json: #"{"lines":[]}"#, expect: 400)
            try await spec.call(hub, .post, "\(one)/logs", token: token, json: #"{"line":"x"}"#, expect: 400)
            try await spec.call(hub, .get, "\(one)/logs?limit=0", token: token, expect: 400)
            try await spec.call(hub, .get, "\(one)/logs?follow=maybe", token: token, expect: 400)
            try await spec.call(hub, .get, "\(path)/op_doesnotexist0000000/logs", token: token, expect: 404)

            try await spec.call(hub, .patch, one, token: token, json: #"{"status":"in_progress"}"#, expect: 200)
            try await spec.call(hub, .patch, one, token: token, json: #"{"status":"succeeded","result":{"url":"https://x"}}"#, expect: 200)
            try await spec.call(hub, .post, "\(one)/cancel", token: token, expect: 409)
            try await spec.call(hub, .post, "\(one)/logs", token: token, json: #"{"lines":["late"]}"#, expect: 409)
            try await spec.call(hub, .patch, one, token: token, json: #"{"status":"failed"}"#, expect: 409)
        }
    }

    @Test func bodiesOverTheLimitAre413() async throws {
        try await TestHub.run(configure: { $0.operations.maxBodyBytes = 512 }) { hub in
            let token = try await hub.token()
            let id = try await spec.createOperation(hub, token: token)
            let pad = String(repeating: "x", count: 600)
            try await spec.call(
                hub, .post, "/api/v1/operations", token: token,
                json: #"{"type":"deploy","target":{"kind":"application","id":"a"},"message":"\#(pad)"}"#, expect: 413)
            try await spec.call(hub, .patch, "/api/v1/operations/\(id)", token: token, json: #"{"message":"\#(pad)"}"#, expect: 413)
            try await spec.call(hub, .post, "/api/v1/operations/\(id)/logs", token: token, json: #"{"lines":["\#(pad)"]}"#, expect: 413)
        }
    }

    @Test func longPollAnswersOnChangeAnd304AtTheDeadline() async throws {
        let clock = ManualClock(now: Date())
        try await TestHub.run(operationsClock: clock) { hub in
            let token = try await hub.token()
            let id = try await spec.createOperation(hub, token: token)
            let path = "/api/v1/operations/\(id)?wait_seconds=30"
            // The hub's heartbeat monitor and retention sweeper sleep on the same clock.
            let services = 2
            let waiting = Task { try await hub.request(.get, path, token: token, headers: [.ifNoneMatch: "\"1\""]) }
            await clock.waitForSleepers(services + 1)
            try await spec.call(hub, .patch, "/api/v1/operations/\(id)", token: token, json: #"{"message":"go"}"#, expect: 200)
            let changed = try await withTimeout(10, "the long-poll answer") { try await waiting.value }
            #expect(changed.status == 200)
            spec.expectConforms("GET", path, OpenAPIResponse(changed))

            let unchanged = Task { try await hub.request(.get, path, token: token, headers: [.ifNoneMatch: "\"2\""]) }
            await clock.waitForSleepers(services + 1)
            clock.advance(by: 30)
            let timedOut = try await withTimeout(10, "the long-poll deadline") { try await unchanged.value }
            #expect(timedOut.status == 304)
            #expect(timedOut.body.isEmpty)
            spec.expectConforms("GET", path, OpenAPIResponse(timedOut))
        }
    }
}
