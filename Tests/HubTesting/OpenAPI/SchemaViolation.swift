import Foundation

/// One way an instance fails a JSON Schema: where in the instance (a JSON
/// pointer, `""` for the root), which schema keyword refused it (its location
/// in the document), and why.
public struct SchemaViolation: Sendable, Hashable, CustomStringConvertible {
    public var instancePath: String
    public var schemaPath: String
    public var message: String

    public init(instancePath: String, schemaPath: String, message: String) {
        self.instancePath = instancePath
        self.schemaPath = schemaPath
        self.message = message
    }

    public var description: String {
        "\(instancePath.isEmpty ? "(root)" : instancePath): \(message) [\(schemaPath)]"
    }

    /// `token` as one JSON pointer segment (`~` → `~0`, `/` → `~1`).
    static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
