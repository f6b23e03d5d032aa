import Protocol

/// The one RBAC evaluator that every REST route and every subscription uses.
///
/// A role grants its permissions within its scope: `tenant:{t}` (or no scope)
/// covers every entity of the caller's tenant; `team:{x}` covers only entities
/// whose owning team is `x`. An entity the hub does not know, a wildcard topic,
/// or an action that is not about one entity needs tenant scope (fail closed).
/// A scope naming another tenant grants nothing.
public struct AccessControl: Sendable {
    public var catalog: RoleCatalog
    /// Topic families open to subscription besides the built-in ones.
    public var extraFamilies: Set<String>

    public static let builtInFamilies: Set<String> = ["application", "operation", "resource", "user"]

    public init(catalog: RoleCatalog = .standard, extraFamilies: Set<String> = []) {
        self.catalog = catalog
        self.extraFamilies = extraFamilies
    }

    /// What an action is about.
    public enum Target: Sendable, Equatable {
        /// Tenant-wide (lists, wildcard topics, publishing without an entity).
        case tenant
        /// A known entity and its owning team (`nil`: no team known).
        case entity(teamID: String?)
        /// An entity the hub has never seen.
        case unknownEntity
    }

    public func allows(_ identity: Identity, _ permission: Permission, on target: Target) -> Bool {
        for grant in identity.roles where catalog.permissions(of: grant).contains(where: { $0.allows(permission) }) {
            switch grant.scope {
            case .none:
                return true
            case .tenant(let tenant):
                if tenant == identity.tenant { return true }
            case .team(let team):
                if case .entity(let owner) = target, owner == team { return true }
            }
        }
        return false
    }

    /// Whether any grant (at any scope) carries `permission`: used to tell a
    /// 403 from a 404 and to list effective permissions.
    public func hasAnyGrant(_ identity: Identity, _ permission: Permission) -> Bool {
        identity.roles.contains { grant in
            if case .tenant(let tenant) = grant.scope, tenant != identity.tenant { return false }
            return catalog.permissions(of: grant).contains { $0.allows(permission) }
        }
    }

    /// The effective grants of an identity: each permission with the scope it holds at.
    public func effectivePermissions(_ identity: Identity) -> [(permission: Permission, scope: RoleScope)] {
        var result: [(Permission, RoleScope)] = []
        for grant in identity.roles {
            let scope = grant.scope ?? .tenant(identity.tenant)
            if case .tenant(let tenant) = scope, tenant != identity.tenant { continue }
            for permission in catalog.permissions(of: grant) where !result.contains(where: { $0.0 == permission && $0.1 == scope }) {
                result.append((permission, scope))
            }
        }
        return result
    }

    /// The permission needed to read a topic's family, or `nil` if the family is not enabled.
    public func readPermission(for topic: Topic) -> Permission? {
        let family = topic.family
        guard Self.builtInFamilies.contains(family) || extraFamilies.contains(family) else { return nil }
        return Permission(resource: family, action: "read")
    }

    /// Decides a subscription (or a history read) of an internal topic.
    /// `lookup` tells the owning team of the topic's entity.
    public func canRead(
        _ identity: Identity, topic: Topic, lookup: (EntityRef) async throws -> EntityRecord?
    ) async throws -> Decision {
        if topic.family == "user" {
            let parts = topic.segments
            guard parts.count == 3, parts[2] == "notifications", parts[1] == identity.subject else {
                return .deny("only your own user:notifications")
            }
            return .allow
        }
        guard let permission = readPermission(for: topic) else {
            return .deny("topic family '\(topic.family)' is not enabled")
        }
        // A grant at tenant scope (or none) allows every entity: no lookup needed.
        if allows(identity, permission, on: .tenant) { return .allow }
        let target: Target
        if topic.isPattern {
            target = .tenant
        } else if let ref = topic.entity {
            target = try await lookup(ref).map { .entity(teamID: $0.teamID) } ?? .unknownEntity
        } else {
            target = .tenant
        }
        if allows(identity, permission, on: target) { return .allow }
        if topic.isPattern, hasAnyGrant(identity, permission) {
            return .deny("wildcard topics need \(permission) at tenant scope")
        }
        return .deny("\(permission) is not granted for this topic")
    }

    public enum Decision: Sendable, Equatable {
        case allow
        case deny(String)
    }
}
