import Hub
import Operations
import Protocol

/// The permission checks of the operations routes, all through the hub's
/// one RBAC evaluator (`AccessControl`). Team scope: a role scoped
/// `team:{x}` reaches the operations whose `team_id` is `x`.
///
/// Answers: no grant of the permission at any scope → 403 before anything
/// is looked up; an operation of another tenant or one the caller may not
/// even read → 404 (its existence is not revealed); one the caller may read
/// but not change → 403.
struct OperationAccess: Sendable {
    let access: AccessControl

    static let create = Permission(resource: "operation", action: "create")
    static let read = Permission(resource: "operation", action: "read")
    static let update = Permission(resource: "operation", action: "update")
    static let cancel = Permission(resource: "operation", action: "cancel")
    static let delete = Permission(resource: "operation", action: "delete")

    /// Refuses callers that hold `permission` nowhere.
    func requireAnyGrant(_ identity: Identity, _ permission: Permission) throws {
        guard access.hasAnyGrant(identity, permission) else {
            throw APIError(.forbidden, "\(permission) is not granted")
        }
    }

    /// Creating an operation owned by `teamID` (none: tenant scope needed).
    func requireCreate(_ identity: Identity, teamID: String?) throws {
        try requireAnyGrant(identity, Self.create)
        guard access.allows(identity, Self.create, on: .entity(teamID: teamID)) else {
            throw APIError(
                .forbidden,
                teamID.map { "\(Self.create) is not granted for team \($0)" } ?? "\(Self.create) without team_id needs tenant scope")
        }
    }

    /// `permission` on an existing operation of the caller's tenant.
    func require(_ identity: Identity, _ permission: Permission, on op: OperationRecord) throws {
        let target = AccessControl.Target.entity(teamID: op.teamID)
        if access.allows(identity, permission, on: target) { return }
        if permission != Self.read, access.allows(identity, Self.read, on: target) {
            throw APIError(.forbidden, "\(permission) is not granted for this operation")
        }
        throw APIError(.notFound, "no operation \(op.id)")
    }

    /// The teams whose operations a list may show (`nil`: all of the tenant).
    func visibleTeams(_ identity: Identity) throws -> Set<String>? {
        try requireAnyGrant(identity, Self.read)
        if access.allows(identity, Self.read, on: .tenant) { return nil }
        var teams: Set<String> = []
        for (permission, scope) in access.effectivePermissions(identity) where permission.allows(Self.read) {
            if case .team(let team) = scope { teams.insert(team) }
        }
        return teams
    }
}
