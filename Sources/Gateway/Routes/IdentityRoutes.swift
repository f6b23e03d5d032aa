import Hub
import Hummingbird
import Protocol

/// `GET /api/v1/users/me` and `GET /api/v1/users/me/permissions`.
struct IdentityRoutes {
    let deps: RouteDependencies

    struct Me: Encodable, Sendable {
        var userID: String
        var tenant: String
        var roles: [RoleGrant]
        var authType: String
        var expiresAt: String?

        enum CodingKeys: String, CodingKey {
            case userID = "user_id"
            case tenant, roles
            case authType = "auth_type"
            case expiresAt = "expires_at"
        }
    }

    struct Grant: Encodable, Sendable {
        var permission: String
        var scope: String
    }

    struct Permissions: Encodable, Sendable {
        var userID: String
        var tenant: String
        var permissions: [Grant]

        enum CodingKeys: String, CodingKey {
            case userID = "user_id"
            case tenant, permissions
        }
    }

    func register(on group: RouterGroup<HubRequestContext>) {
        group.get("users/me") { _, context in
            let identity = try context.requireIdentity()
            let me = Me(
                userID: identity.subject, tenant: identity.tenant, roles: identity.roles, authType: identity.kind.rawValue,
                expiresAt: identity.expiresAt.map(Timestamp.format))
            return JSONResponse.ok(me, context: context)
        }
        group.get("users/me/permissions") { _, context in
            let identity = try context.requireIdentity()
            let grants = deps.core.access.effectivePermissions(identity).map {
                Grant(permission: $0.permission.description, scope: $0.scope.description)
            }
            return JSONResponse.ok(Permissions(userID: identity.subject, tenant: identity.tenant, permissions: grants), context: context)
        }
    }
}
