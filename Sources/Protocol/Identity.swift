import Foundation

/// Where a role applies: the whole tenant, or the entities of one team.
public enum RoleScope: Hashable, Sendable, CustomStringConvertible, Codable {
    case tenant(String)
    case team(String)

    public init?(_ text: String) {
        if text.hasPrefix("tenant:"), text.count > 7 {
            self = .tenant(String(text.dropFirst(7)))
        } else if text.hasPrefix("team:"), text.count > 5 {
            self = .team(String(text.dropFirst(5)))
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .tenant(let t): "tenant:\(t)"
        case .team(let t): "team:\(t)"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let scope = RoleScope(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "malformed scope"))
        }
        self = scope
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// One role of a token or key: `{"role":"developer","scope":"team:frontend","permissions":[…]}`.
/// A role without a scope applies to the whole tenant.
public struct RoleGrant: Hashable, Sendable, Codable {
    public var role: String
    public var scope: RoleScope?
    public var permissions: [Permission]

    public init(role: String, scope: RoleScope? = nil, permissions: [Permission] = []) {
        self.role = role
        self.scope = scope
        self.permissions = permissions
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        role = try container.decode(String.self, forKey: .role)
        scope = try container.decodeIfPresent(RoleScope.self, forKey: .scope)
        permissions = try container.decodeIfPresent([Permission].self, forKey: .permissions) ?? []
    }

    enum CodingKeys: String, CodingKey {
        case role, scope, permissions
    }
}

/// Who is calling: from a verified JWT or an API key's record.
public struct Identity: Hashable, Sendable {
    public enum Kind: String, Sendable, Codable {
        case jwt
        case apiKey = "api_key"
    }

    public var subject: String
    public var tenant: String
    public var roles: [RoleGrant]
    public var expiresAt: Date?
    public var kind: Kind

    public init(subject: String, tenant: String, roles: [RoleGrant], expiresAt: Date? = nil, kind: Kind = .jwt) {
        self.subject = subject
        self.tenant = tenant
        self.roles = roles
        self.expiresAt = expiresAt
        self.kind = kind
    }
}
