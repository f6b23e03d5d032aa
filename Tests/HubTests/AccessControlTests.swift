import Foundation
import Protocol
import Testing

@testable import Hub

@Suite("AccessControl")
struct AccessControlTests {
    let access = AccessControl()

    struct LookupFailed: Error {}

    /// An entity directory for `canRead`.
    func directory(_ teams: [String: String?]) -> @Sendable (EntityRef) async throws -> EntityRecord? {
        { ref in
            guard let team = teams[ref.description] else { return nil }
            return EntityRecord(tenant: "acme", ref: ref, teamID: team)
        }
    }

    func canRead(
        _ who: Identity, _ topicText: String, teams: [String: String?] = [:], access: AccessControl? = nil
    ) async throws -> AccessControl.Decision {
        try await (access ?? self.access).canRead(who, topic: topic(topicText), lookup: directory(teams))
    }

    func isAllowed(_ decision: AccessControl.Decision) -> Bool {
        decision == .allow
    }

    func developer(scope: RoleScope?) -> Identity {
        identity("dev", roles: [RoleGrant(role: "developer", scope: scope)])
    }

    @Test("the entity directory is asked only when a team-scoped grant needs it")
    func lookupOnlyForTeamScope() async throws {
        let failing: @Sendable (EntityRef) async throws -> EntityRecord? = { _ in throw LookupFailed() }
        for who in [developer(scope: .tenant("acme")), developer(scope: nil), identity("root", roles: [RoleGrant(role: "admin")])] {
            // Allowed without a lookup: a failing directory (Redis down) does not matter.
            #expect(isAllowed(try await access.canRead(who, topic: topic("application:app_1:status"), lookup: failing)))
        }
        await #expect(throws: LookupFailed.self) {
            _ = try await access.canRead(developer(scope: .team("frontend")), topic: topic("application:app_1:status"), lookup: failing)
        }
    }

    @Test("a tenant-scoped role covers every entity of the tenant, known or not, and wildcards")
    func tenantScope() async throws {
        let who = developer(scope: .tenant("acme"))
        let teams: [String: String?] = ["application:app_1": "frontend", "application:app_2": "backend"]
        #expect(isAllowed(try await canRead(who, "application:app_1:status", teams: teams)))
        #expect(isAllowed(try await canRead(who, "application:app_2:status", teams: teams)))
        #expect(isAllowed(try await canRead(who, "application:app_unknown:status", teams: teams)))
        #expect(isAllowed(try await canRead(who, "application:*:status", teams: teams)))
        #expect(isAllowed(try await canRead(who, "operation:op_1:progress")))
        #expect(isAllowed(try await canRead(who, "resource:db_1:health")))
        #expect(access.allows(who, permission("application:read"), on: .unknownEntity))
        #expect(access.allows(who, permission("application:read"), on: .tenant))
        // The developer role does not carry every permission.
        #expect(!access.allows(who, permission("application:delete"), on: .tenant))
    }

    @Test("a role without scope applies to the whole tenant")
    func noScope() async throws {
        let who = identity("bob", roles: [RoleGrant(role: "custom", permissions: [permission("operation:read")])])
        #expect(isAllowed(try await canRead(who, "operation:op_1:progress", teams: ["operation:op_1": "ops"])))
        #expect(isAllowed(try await canRead(who, "operation:op_2:progress")))
        #expect(isAllowed(try await canRead(who, "operation:*:progress")))
        #expect(!isAllowed(try await canRead(who, "application:app_1:status")))
        #expect(access.allows(who, permission("operation:read"), on: .entity(teamID: "anything")))
    }

    @Test("a scope naming another tenant grants nothing")
    func otherTenantScope() async throws {
        let who = identity("mallory", tenant: "acme", roles: [RoleGrant(role: "admin", scope: .tenant("globex"))])
        #expect(!isAllowed(try await canRead(who, "application:app_1:status", teams: ["application:app_1": "frontend"])))
        #expect(!isAllowed(try await canRead(who, "application:app_2:status")))
        #expect(!isAllowed(try await canRead(who, "application:*:status")))
        for target in [AccessControl.Target.tenant, .unknownEntity, .entity(teamID: "frontend"), .entity(teamID: nil)] {
            #expect(!access.allows(who, permission("application:read"), on: target))
        }
        #expect(!access.hasAnyGrant(who, permission("application:read")))
        #expect(access.effectivePermissions(who).isEmpty)
    }

    @Test("a team-scoped role: its team's entity yes, another team's no, an unknown entity no (fail closed)")
    func teamScope() async throws {
        let who = developer(scope: .team("frontend"))
        let teams: [String: String?] = [
            "application:app_front": "frontend", "application:app_back": "backend", "application:app_orphan": String?.none,
        ]
        #expect(isAllowed(try await canRead(who, "application:app_front:status", teams: teams)))
        #expect(!isAllowed(try await canRead(who, "application:app_back:status", teams: teams)))
        #expect(!isAllowed(try await canRead(who, "application:app_unknown:status", teams: teams)))
        #expect(!isAllowed(try await canRead(who, "application:app_orphan:status", teams: teams)))
        // Not about one entity: needs tenant scope.
        #expect(!isAllowed(try await canRead(who, "application:app_front", teams: teams)))

        #expect(access.allows(who, permission("application:read"), on: .entity(teamID: "frontend")))
        #expect(!access.allows(who, permission("application:read"), on: .entity(teamID: "backend")))
        #expect(!access.allows(who, permission("application:read"), on: .entity(teamID: nil)))
        #expect(!access.allows(who, permission("application:read"), on: .unknownEntity))
        #expect(!access.allows(who, permission("application:read"), on: .tenant))
    }

    @Test("a wildcard topic is denied to a team-scoped role even with the permission")
    func wildcardNeedsTenantScope() async throws {
        let who = developer(scope: .team("frontend"))
        let decision = try await canRead(who, "application:*:status", teams: ["application:app_front": "frontend"])
        guard case .deny(let reason) = decision else {
            Issue.record("wildcard allowed at team scope")
            return
        }
        #expect(reason.contains("tenant scope"))
        #expect(access.hasAnyGrant(who, permission("application:read")))
        #expect(!isAllowed(try await canRead(who, "operation:*:progress")))
    }

    @Test("user:{me}:notifications is allowed without any role; someone else's is denied")
    func notifications() async throws {
        let alice = identity("alice", roles: [])
        #expect(isAllowed(try await canRead(alice, "user:alice:notifications")))
        #expect(!isAllowed(try await canRead(alice, "user:bob:notifications")))
        #expect(!isAllowed(try await canRead(alice, "user:*:notifications")))
        #expect(!isAllowed(try await canRead(alice, "user:alice:settings")))
        // Even an admin reads only their own notifications.
        let admin = identity("root", roles: [RoleGrant(role: "admin")])
        #expect(!isAllowed(try await canRead(admin, "user:alice:notifications")))
        #expect(isAllowed(try await canRead(admin, "user:root:notifications")))
    }

    @Test("a family that is not enabled is denied, and allowed once in extraFamilies")
    func extraFamilies() async throws {
        let admin = identity("root", roles: [RoleGrant(role: "admin")])
        let viewer = identity("val", roles: [RoleGrant(role: "viewer")])
        let dev = developer(scope: nil)
        #expect(!isAllowed(try await canRead(admin, "billing:inv_1:status")))
        #expect(!isAllowed(try await canRead(admin, "billing")))
        #expect(access.readPermission(for: topic("billing:inv_1:status")) == nil)

        let open = AccessControl(extraFamilies: ["billing"])
        #expect(open.readPermission(for: topic("billing:inv_1:status")) == permission("billing:read"))
        #expect(isAllowed(try await canRead(admin, "billing:inv_1:status", access: open)))
        #expect(isAllowed(try await canRead(admin, "billing", access: open)))
        #expect(isAllowed(try await canRead(viewer, "billing:inv_1:status", access: open)))
        #expect(!isAllowed(try await canRead(dev, "billing:inv_1:status", access: open)))
        let billingReader = identity("b", roles: [RoleGrant(role: "none", permissions: [permission("billing:read")])])
        #expect(isAllowed(try await canRead(billingReader, "billing:inv_1:status", access: open)))
        #expect(!isAllowed(try await canRead(billingReader, "audit:x:y", access: open)))
    }

    @Test("built-in roles of RoleCatalog.standard")
    func builtInRoles() async throws {
        let admin = identity("root", roles: [RoleGrant(role: "admin")])
        let viewer = identity("val", roles: [RoleGrant(role: "viewer")])
        for text in ["application:read", "operation:create", "operation:cancel", "event:publish", "resource:database:delete"] {
            #expect(access.allows(admin, permission(text), on: .tenant), "admin: \(text)")
        }
        for text in ["application:read", "operation:read", "resource:read", "resource:database:read"] {
            #expect(access.allows(viewer, permission(text), on: .tenant), "viewer: \(text)")
        }
        for text in ["operation:create", "operation:cancel", "event:publish", "application:deploy"] {
            #expect(!access.allows(viewer, permission(text), on: .tenant), "viewer: \(text)")
        }
        for text in ["application:app_1:status", "operation:op_1:progress", "resource:db_1:health", "operation:*:progress"] {
            #expect(isAllowed(try await canRead(viewer, text)), "viewer reads \(text)")
            #expect(isAllowed(try await canRead(admin, text)), "admin reads \(text)")
        }
        let worker = identity("w", roles: [RoleGrant(role: "worker")])
        #expect(isAllowed(try await canRead(worker, "operation:op_1:progress")))
        #expect(!isAllowed(try await canRead(worker, "application:app_1:status")))
        // An unknown role name brings nothing beyond its explicit permissions.
        let unknown = identity("u", roles: [RoleGrant(role: "superuser")])
        #expect(!isAllowed(try await canRead(unknown, "operation:op_1:progress")))
        #expect(RoleCatalog.standard.permissions(of: RoleGrant(role: "superuser", permissions: [permission("a:b")])) == [permission("a:b")])
    }

    @Test("resource:read and resource:*:read let a holder read resource topics")
    func resourcePermissions() async throws {
        for text in ["resource:read", "resource:*:read", "*:read"] {
            let who = identity("r", roles: [RoleGrant(role: "none", permissions: [permission(text)])])
            #expect(isAllowed(try await canRead(who, "resource:db_1:health")), "\(text)")
            #expect(isAllowed(try await canRead(who, "resource:db_1:status")), "\(text)")
        }
    }

    @Test("effectivePermissions: each permission with its scope, no scope meaning the tenant, other tenants left out")
    func effectivePermissions() {
        let who = identity(
            "carol",
            roles: [
                RoleGrant(role: "worker", scope: .team("ops")),
                RoleGrant(role: "none", permissions: [permission("application:read")]),
                RoleGrant(role: "none", scope: .tenant("acme"), permissions: [permission("application:read")]),
                RoleGrant(role: "admin", scope: .tenant("globex")),
            ])
        let effective = access.effectivePermissions(who).map { "\($0.permission)@\($0.scope)" }
        #expect(effective == [
            "operation:read@team:ops", "operation:update@team:ops", "event:publish@team:ops", "application:read@tenant:acme",
        ])
        #expect(access.hasAnyGrant(who, permission("operation:update")))
        #expect(!access.hasAnyGrant(who, permission("operation:cancel")))
    }

    @Test("a failing entity lookup is an error, not an allow")
    func lookupFailure() async throws {
        let who = developer(scope: .team("frontend"))
        await #expect(throws: LookupFailed.self) {
            try await access.canRead(who, topic: topic("application:app_1:status")) { _ in throw LookupFailed() }
        }
    }
}
