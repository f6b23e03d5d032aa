/// A permission: `resource:action` or `resource:type:action`, where `*`
/// stands for any part (`*:*`, `application:*`, `resource:database:read`).
public struct Permission: Hashable, Sendable, CustomStringConvertible, Codable {
    public let resource: String
    public let type: String?
    public let action: String

    public init(resource: String, type: String? = nil, action: String) {
        self.resource = resource
        self.type = type
        self.action = action
    }

    /// Parses `a:b` or `a:b:c`; `*` alone means everything. `nil` if malformed.
    public init?(_ text: String) {
        if text == "*" {
            self.init(resource: "*", action: "*")
            return
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 64 }) else { return nil }
        switch parts.count {
        case 2: self.init(resource: parts[0], action: parts[1])
        case 3: self.init(resource: parts[0], type: parts[1], action: parts[2])
        default: return nil
        }
    }

    public var description: String {
        if let type { return "\(resource):\(type):\(action)" }
        return "\(resource):\(action)"
    }

    /// Whether this granted permission allows `required`.
    ///
    /// A grant without a type (`resource:read`) covers every type; a grant with
    /// a type (`resource:database:read`) covers a requirement only of that type.
    public func allows(_ required: Permission) -> Bool {
        guard Self.part(resource, covers: required.resource), Self.part(action, covers: required.action) else {
            return false
        }
        guard let type else { return true }
        guard let requiredType = required.type else { return type == "*" }
        return Self.part(type, covers: requiredType)
    }

    private static func part(_ granted: String, covers required: String) -> Bool {
        granted == "*" || granted == required
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let permission = Permission(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "malformed permission"))
        }
        self = permission
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
