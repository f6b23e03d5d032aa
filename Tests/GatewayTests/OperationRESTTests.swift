import Foundation
import Gateway
import HTTPTypes
import HubTesting
import Operations
import Protocol
import Testing

/// A deployment of `app` owned by `team`.
func deployBody(app: String = "app_1", team: String? = "frontend", extra: String = "") -> String {
    let teamField = team.map { #","team_id":"\#($0)""# } ?? ""
    return #"{"type":"deploy","target":{"kind":"application","id":"\#(app)"}\#(teamField),"stages":["build","ship","verify"]\#(extra)}"#
}

extension TestHub {
    /// Creates an operation as `token` (default: an admin of acme) and returns it.
    func createOperation(_ body: String = deployBody(), token: String? = nil, headers: HTTPFields = [:]) async throws -> [String: Any] {
        let caller: String
        if let token { caller = token } else { caller = try await self.token() }
        let result = try await request(.post, "/api/v1/operations", token: caller, json: body, headers: headers)
        guard result.status == 201 else { throw ProbeError("create failed: \(result.status) \(result.text)") }
        return result.data
    }

    func patchOperation(_ id: String, _ body: String, token: String? = nil, headers: HTTPFields = [:]) async throws -> HTTPResult {
        let caller: String
        if let token { caller = token } else { caller = try await self.token() }
        return try await request(.patch, "/api/v1/operations/\(id)", token: caller, json: body, headers: headers)
    }
}

@Suite("Operations REST API")
struct OperationRESTTests {
    @Test func createReadUpdateCancelDelete() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let created = try await hub.request(.post, "/api/v1/operations", token: token, json: deployBody())
            #expect(created.status == 201)
            let op = created.data
            let id = try #require(op["operation_id"] as? String)
            #expect(id.hasPrefix("op_"))
            #expect(created.headers[.location] == "/api/v1/operations/\(id)")
            #expect(created.headers[.eTag] == "\"1\"")
            #expect(op["status"] as? String == "pending")
            #expect(op["version"] as? Int == 1)
            #expect(op["tenant"] as? String == "acme")
            #expect(op["created_by"] as? String == "alice")
            #expect((op["target"] as? [String: Any])?["id"] as? String == "app_1")
            #expect(op["offset"] is String)
            for key in ["progress", "stages", "current_stage", "message", "estimated_completion", "result", "error", "metadata",
                "created_at", "updated_at", "started_at", "completed_at", "team_id", "type"]
            {
                #expect(op.keys.contains(key), "missing \(key)")
            }

            let read = try await hub.request(.get, "/api/v1/operations/\(id)", token: token)
            #expect(read.status == 200)
            #expect(read.headers[.retryAfter] == "2")
            #expect(read.headers[.eTag] == "\"1\"")

            let started = try await hub.patchOperation(id, #"{"status":"in_progress","current_stage":"build","progress":10,"message":"building"}"#)
            #expect(started.status == 200)
            #expect(started.data["status"] as? String == "in_progress")
            #expect(started.data["started_at"] is String)
            #expect(started.headers[.eTag] == "\"2\"")

            let cancelled = try await hub.request(.post, "/api/v1/operations/\(id)/cancel", token: token)
            #expect(cancelled.status == 200)
            #expect(cancelled.data["status"] as? String == "cancelling")
            #expect(cancelled.data["cancel_requested_by"] as? String == "alice")
            let again = try await hub.request(.post, "/api/v1/operations/\(id)/cancel", token: token)
            #expect(again.status == 200)
            #expect(again.data["version"] as? Int == cancelled.data["version"] as? Int)

            let early = try await hub.request(.delete, "/api/v1/operations/\(id)", token: token)
            #expect(early.status == 409)
            #expect(early.errorCode == "CONFLICT")

            let done = try await hub.patchOperation(id, #"{"status":"cancelled"}"#)
            #expect(done.status == 200)
            #expect(done.data["completed_at"] is String)
            let final = try await hub.request(.get, "/api/v1/operations/\(id)", token: token)
            #expect(final.headers[.retryAfter] == nil)

            let deleted = try await hub.request(.delete, "/api/v1/operations/\(id)", token: token)
            #expect(deleted.status == 200)
            #expect(deleted.data["deleted"] as? Bool == true)
            let gone = try await hub.request(.get, "/api/v1/operations/\(id)", token: token)
            #expect(gone.status == 404)
            #expect(gone.errorCode == "NOT_FOUND")
        }
    }

    @Test func pendingCancelsAtOnceAndTerminalStatesAreFinal() async throws {
        try await TestHub.run { hub in
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let cancelled = try await hub.request(.post, "/api/v1/operations/\(id)/cancel", token: try await hub.token())
            #expect(cancelled.data["status"] as? String == "cancelled")
            #expect(cancelled.data["completed_at"] is String)
            let revive = try await hub.patchOperation(id, #"{"status":"in_progress"}"#)
            #expect(revive.status == 409)
            #expect(revive.errorCode == "INVALID_TRANSITION")

            let other = try #require(try await hub.createOperation()["operation_id"] as? String)
            let skip = try await hub.patchOperation(other, #"{"status":"succeeded"}"#)
            #expect(skip.status == 409)
            #expect(skip.errorCode == "INVALID_TRANSITION")
            _ = try await hub.patchOperation(other, #"{"status":"in_progress","progress":50}"#)
            let down = try await hub.patchOperation(other, #"{"progress":20}"#)
            #expect(down.status == 400)
            #expect(down.errorCode == "VALIDATION_ERROR")
            let details = (down.json["error"] as? [String: Any])?["details"] as? [String: Any]
            #expect(details?["field"] as? String == "progress")
            #expect(details?["reason"] as? String == "decreasing")
            let stage = try await hub.patchOperation(other, #"{"current_stage":"launch"}"#)
            #expect(stage.status == 400)
            let succeeded = try await hub.patchOperation(other, #"{"status":"succeeded","result":{"url":"https://app"}}"#)
            #expect(succeeded.data["progress"] as? Int == 100)
            #expect((succeeded.data["result"] as? [String: Any])?["url"] as? String == "https://app")
            let succeededCancel = try await hub.request(.post, "/api/v1/operations/\(other)/cancel", token: try await hub.token())
            #expect(succeededCancel.status == 409)
        }
    }

    @Test func etagsAndPreconditions() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let stale = try await hub.patchOperation(id, #"{"message":"x"}"#, headers: [.ifMatch: "\"7\""])
            #expect(stale.status == 412)
            #expect(stale.errorCode == "PRECONDITION_FAILED")
            let fresh = try await hub.patchOperation(id, #"{"message":"x"}"#, headers: [.ifMatch: "\"1\""])
            #expect(fresh.status == 200)
            #expect(fresh.headers[.eTag] == "\"2\"")
            let garbage = try await hub.patchOperation(id, #"{"message":"y"}"#, headers: [.ifMatch: "\"abc\""])
            #expect(garbage.status == 412)
            let notModified = try await hub.request(.get, "/api/v1/operations/\(id)", token: token, headers: [.ifNoneMatch: "\"2\""])
            #expect(notModified.status == 304)
            #expect(notModified.body.isEmpty)
            #expect(notModified.headers[.eTag] == "\"2\"")
            let modified = try await hub.request(.get, "/api/v1/operations/\(id)", token: token, headers: [.ifNoneMatch: "\"1\""])
            #expect(modified.status == 200)
            #expect(modified.data["message"] as? String == "x")
            let staleDelete = try await hub.request(.delete, "/api/v1/operations/\(id)", token: token, headers: [.ifMatch: "\"1\""])
            #expect(staleDelete.status == 412)
        }
    }

    @Test(arguments: [
        ("not json", "invalid_json"),
        ("[1,2]", "not_an_object"),
        (#"{"type":"deploy"}"#, "required"),
        (#"{"type":5,"target":{"kind":"application","id":"a"}}"#, "wrong_type"),
        (#"{"type":"deploy","target":{"kind":"application","id":"a"},"colour":"red"}"#, "unknown_field"),
        (#"{"type":"deploy","target":{"kind":"application","id":"a","x":1}}"#, "unknown_field"),
        (#"{"type":"deploy","target":{"kind":"application","id":"a:b"}}"#, "invalid"),
        (#"{"type":"deploy","target":{"kind":"application","id":"a"},"estimated_completion":"soon"}"#, "invalid"),
        (#"{"type":"deploy","target":{"kind":"application","id":"a"},"heartbeat_timeout_seconds":0}"#, "out_of_range"),
        (#"{"type":"deploy","target":{"kind":"application","id":"a"},"metadata":"flat"}"#, "wrong_type"),
    ])
    func badCreateBodiesGetTheEnvelope(body: String, reason: String) async throws {
        try await TestHub.run { hub in
            let result = try await hub.request(.post, "/api/v1/operations", token: try await hub.token(), json: body)
            #expect(result.status == 400)
            #expect(result.errorCode == "VALIDATION_ERROR")
            let details = (result.json["error"] as? [String: Any])?["details"] as? [String: Any]
            #expect(details?["reason"] as? String == reason, "\(result.text)")
            #expect(result.json["meta"] is [String: Any])
        }
    }

    @Test(arguments: [
        #"{"progres":50}"#, #"{"progress":"50"}"#, #"{"progress":50.5}"#, #"{"status":"running"}"#, #"{"progress":101}"#,
        #"{"error":{"code":"X","message":"m","stack":"…"}}"#, "", #"{"error":{"code":"X"},"status":"in_progress"}"#,
    ])
    func badPatchBodiesGetTheEnvelope(body: String) async throws {
        try await TestHub.run { hub in
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let result = try await hub.patchOperation(id, body)
            #expect(result.status == 400, "\(body): \(result.text)")
            #expect(result.errorCode == "VALIDATION_ERROR")
        }
    }

    @Test func bodySizeLimitIsConfigurableAndExact() async throws {
        try await TestHub.run(configure: { $0.operations.maxBodyBytes = 400 }) { hub in
            let token = try await hub.token()
            func body(_ size: Int) -> String {
                let base = deployBody(extra: #","message":"""#).utf8.count
                return deployBody(extra: #","message":""# + String(repeating: "m", count: size - base) + "\"")
            }
            #expect(body(400).utf8.count == 400)
            let atLimit = try await hub.request(.post, "/api/v1/operations", token: token, json: body(400))
            #expect(atLimit.status == 201, "\(atLimit.text)")
            let over = try await hub.request(.post, "/api/v1/operations", token: token, json: body(401))
            #expect(over.status == 413)
            #expect(over.errorCode == "PAYLOAD_TOO_LARGE")
        }
    }

    @Test func listFiltersNewestFirstAndPaginates() async throws {
        try await TestHub.run(configure: { $0.operations.maxPageSize = 4 }) { hub in
            let token = try await hub.token()
            var ids: [String] = []
            for index in 0..<6 {
                let body =
                    index % 2 == 0
                    ? deployBody(app: "app_\(index % 3)", team: "frontend")
                    : #"{"type":"create_database","target":{"kind":"database","id":"db_\#(index)"},"team_id":"backend"}"#
                ids.append(try #require(try await hub.createOperation(body)["operation_id"] as? String))
            }
            _ = try await hub.patchOperation(ids[0], #"{"status":"in_progress"}"#)
            let all = try await hub.request(.get, "/api/v1/operations?per_page=4", token: token)
            #expect(all.status == 200)
            let pagination = try #require(all.json["pagination"] as? [String: Any])
            #expect(pagination["total"] as? Int == 6)
            #expect(pagination["per_page"] as? Int == 4)
            #expect(pagination["total_pages"] as? Int == 2)
            let firstPage = (all.json["data"] as? [[String: Any]] ?? []).compactMap { $0["operation_id"] as? String }
            let second = try await hub.request(.get, "/api/v1/operations?per_page=4&page=2", token: token)
            let secondPage = (second.json["data"] as? [[String: Any]] ?? []).compactMap { $0["operation_id"] as? String }
            #expect(firstPage + secondPage == Array(ids.reversed()))

            func list(_ query: String) async throws -> [String] {
                let result = try await hub.request(.get, "/api/v1/operations?\(query)", token: token)
                #expect(result.status == 200, "\(query): \(result.text)")
                return (result.json["data"] as? [[String: Any]] ?? []).compactMap { $0["operation_id"] as? String }
            }
            #expect(try await list("status=in_progress") == [ids[0]])
            #expect(try await list("status=pending,in_progress").count == 6)
            #expect(try await list("type=create_database") == [ids[5], ids[3], ids[1]])
            #expect(try await list("target_kind=application&target_id=app_0") == [ids[0]])
            #expect(try await list("team_id=backend") == [ids[5], ids[3], ids[1]])
            let overMax = try await hub.request(.get, "/api/v1/operations?per_page=5", token: token)
            #expect(overMax.status == 400)
            #expect(try await hub.request(.get, "/api/v1/operations?status=nope", token: token).status == 400)
            #expect(try await hub.request(.get, "/api/v1/operations?page=0", token: token).status == 400)
            let other = try await hub.token(tenant: "globex")
            let theirs = try await hub.request(.get, "/api/v1/operations", token: other)
            #expect((theirs.json["pagination"] as? [String: Any])?["total"] as? Int == 0)
        }
    }
}
