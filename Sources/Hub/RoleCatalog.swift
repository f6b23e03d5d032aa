import Protocol

/// Permissions that come with a role's name, added to those a token or key
/// lists explicitly. Configurable; the defaults are documented in Docs/auth.md.
public struct RoleCatalog: Sendable, Equatable {
    public var roles: [String: [Permission]]

    public init(roles: [String: [Permission]]) {
        self.roles = roles
    }

    public static let standard = RoleCatalog(roles: [
        "admin": [Permission(resource: "*", action: "*")],
        "developer": [
            "application:read", "operation:read", "operation:create", "operation:update", "operation:cancel",
            "resource:read", "event:publish",
        ].compactMap(Permission.init),
        "operator": ["*:read", "operation:*", "event:publish"].compactMap(Permission.init),
        "viewer": [Permission(resource: "*", action: "read")],
        "worker": ["operation:read", "operation:update", "event:publish"].compactMap(Permission.init),
    ])

    public func permissions(of grant: RoleGrant) -> [Permission] {
        (roles[grant.role] ?? []) + grant.permissions
    }
}
