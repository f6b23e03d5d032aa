import Foundation
import Gateway
import HTTPTypes
import HubTesting
import Protocol
import Testing

@Suite("Operations permissions and tenancy")
struct OperationAccessTests {
    static func role(_ permissions: String..., team: String? = nil) -> [RoleGrant] {
        [RoleGrant(role: "custom", scope: team.map(RoleScope.team), permissions: permissions.compactMap(Permission.init))]
    }

    @Test func anotherTenantsOperationIsNotFoundNeverForbidden() async throws {
        try await TestHub.run { hub in
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let globex = try await hub.token(sub: "mallory", tenant: "globex")
            for (method, path) in [
                (HTTPRequest.Method.get, "/api/v1/operations/\(id)"), (.get, "/api/v1/operations/\(id)/logs"),
                (.post, "/api/v1/operations/\(id)/cancel"), (.delete, "/api/v1/operations/\(id)"),
                (.get, "/api/v1/operations/\(id)/events"),
            ] {
                let result = try await hub.request(method, path, token: globex)
                #expect(result.status == 404, "\(method) \(path)")
                #expect(result.errorCode == "NOT_FOUND")
            }
            let patch = try await hub.patchOperation(id, #"{"progress":5}"#, token: globex)
            #expect(patch.status == 404)
            let logs = try await hub.request(.post, "/api/v1/operations/\(id)/logs", token: globex, json: #"{"lines":["x"]}"#)
            #expect(logs.status == 404)
            // Nothing changed.
            let mine = try await hub.request(.get, "/api/v1/operations/\(id)", token: try await hub.token())
            #expect(mine.data["version"] as? Int == 1)
        }
    }

    @Test func everyRouteChecksItsPermission() async throws {
        try await TestHub.run { hub in
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let reader = try await hub.token(sub: "r", roles: Self.role("operation:read"))
            #expect(try await hub.request(.get, "/api/v1/operations/\(id)", token: reader).status == 200)
            #expect(try await hub.request(.get, "/api/v1/operations", token: reader).status == 200)
            #expect(try await hub.request(.post, "/api/v1/operations", token: reader, json: deployBody()).status == 403)
            #expect(try await hub.patchOperation(id, #"{"progress":1}"#, token: reader).status == 403)
            #expect(try await hub.request(.post, "/api/v1/operations/\(id)/cancel", token: reader).status == 403)
            #expect(try await hub.request(.delete, "/api/v1/operations/\(id)", token: reader).status == 403)
            #expect(try await hub.request(.post, "/api/v1/operations/\(id)/logs", token: reader, json: #"{"lines":["x"]}"#).status == 403)

            let worker = try await hub.token(sub: "w", roles: [RoleGrant(role: "worker")])
            #expect(try await hub.patchOperation(id, #"{"status":"in_progress"}"#, token: worker).status == 200)
            #expect(try await hub.request(.post, "/api/v1/operations/\(id)/logs", token: worker, json: #"{"lines":["x"]}"#).status == 201)
            #expect(try await hub.request(.post, "/api/v1/operations/\(id)/cancel", token: worker).status == 403)

            let canceller = try await hub.token(sub: "c", roles: Self.role("operation:read", "operation:cancel"))
            #expect(try await hub.request(.post, "/api/v1/operations/\(id)/cancel", token: canceller).status == 200)

            let nobody = try await hub.token(sub: "n", roles: Self.role("application:read"))
            let forbidden = try await hub.request(.get, "/api/v1/operations/\(id)", token: nobody)
            #expect(forbidden.status == 403)
            #expect(forbidden.errorCode == "FORBIDDEN")
            #expect(try await hub.request(.get, "/api/v1/operations/op_doesnotexist", token: nobody).status == 403)
            #expect(try await hub.request(.get, "/api/v1/operations/\(id)").status == 401)
        }
    }

    @Test func teamScopeFollowsTheOperationsTeam() async throws {
        try await TestHub.run { hub in
            let frontendOp = try #require(try await hub.createOperation(deployBody(team: "frontend"))["operation_id"] as? String)
            let backendOp = try #require(try await hub.createOperation(deployBody(app: "app_2", team: "backend"))["operation_id"] as? String)
            let teamless = try #require(try await hub.createOperation(deployBody(app: "app_3", team: nil))["operation_id"] as? String)
            let dev = try await hub.token(sub: "dev", roles: [RoleGrant(role: "developer", scope: .team("frontend"))])
            #expect(try await hub.request(.get, "/api/v1/operations/\(frontendOp)", token: dev).status == 200)
            // Invisible, so not found rather than forbidden.
            #expect(try await hub.request(.get, "/api/v1/operations/\(backendOp)", token: dev).status == 404)
            #expect(try await hub.request(.get, "/api/v1/operations/\(teamless)", token: dev).status == 404)
            #expect(try await hub.patchOperation(backendOp, #"{"progress":1}"#, token: dev).status == 404)
            #expect(try await hub.patchOperation(frontendOp, #"{"progress":1}"#, token: dev).status == 200)
            let list = try await hub.request(.get, "/api/v1/operations", token: dev)
            #expect((list.json["data"] as? [[String: Any]] ?? []).compactMap { $0["operation_id"] as? String } == [frontendOp])
            // Creating: only for one's own team.
            #expect(try await hub.request(.post, "/api/v1/operations", token: dev, json: deployBody(team: "frontend")).status == 201)
            #expect(try await hub.request(.post, "/api/v1/operations", token: dev, json: deployBody(team: "backend")).status == 403)
            #expect(try await hub.request(.post, "/api/v1/operations", token: dev, json: deployBody(team: nil)).status == 403)
            // The developer role has no delete: readable, so forbidden.
            _ = try await hub.request(.post, "/api/v1/operations/\(frontendOp)/cancel", token: dev)
            let delete = try await hub.request(.delete, "/api/v1/operations/\(frontendOp)", token: dev)
            #expect(delete.status == 403)
        }
    }

    @Test func teamScopedSubscriptionsToTheOperationAndItsApplication() async throws {
        try await TestHub.run { hub in
            let id = try #require(try await hub.createOperation(deployBody(app: "app_t", team: "frontend"))["operation_id"] as? String)
            let other = try #require(try await hub.createOperation(deployBody(app: "app_u", team: "backend"))["operation_id"] as? String)
            let probe = try await connect(hub, sub: "dev", roles: [RoleGrant(role: "developer", scope: .team("frontend"))])
            let reply = try await subscribe(
                probe, ["operation:\(id):progress", "application:app_t:status", "operation:\(other):progress", "application:app_u:status"])
            #expect(Set(granted(reply)) == ["operation:\(id):progress", "application:app_t:status"])
            #expect(denied(reply) == ["operation:\(other):progress": "FORBIDDEN", "application:app_u:status": "FORBIDDEN"])
            _ = try await hub.patchOperation(id, #"{"status":"in_progress"}"#)
            let first = try await probe.next(type: "event")
            let second = try await probe.next(type: "event")
            #expect(Set([first["event"] as? String, second["event"] as? String]) == ["status_changed", "deployment_started"])
        }
    }
}
