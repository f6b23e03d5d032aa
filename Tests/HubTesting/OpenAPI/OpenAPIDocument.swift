import Foundation
import Protocol

/// `Docs/openapi.yaml`, loaded with Yams: its operations, found by method and
/// concrete path, and a schema validator over the whole document.
public struct OpenAPIDocument: Sendable {
    public static let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    public let root: JSONValue
    public let operations: [OpenAPIOperation]
    public let validator: JSONSchemaValidator

    /// The spec of this checkout (`Docs/openapi.yaml`, found from this source file's location).
    public static var defaultURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Docs/openapi.yaml")
    }

    public static func load(_ url: URL = defaultURL) throws -> OpenAPIDocument {
        try OpenAPIDocument(root: JSONValue.parseYAML(String(contentsOf: url, encoding: .utf8)))
    }

    public init(root: JSONValue) throws {
        guard case .object(let paths) = root["paths"] else { throw YAMLConversionError(message: "the document has no paths") }
        var operations: [OpenAPIOperation] = []
        for (template, item) in paths.sorted(by: { $0.key < $1.key }) {
            for method in Self.methods {
                if let definition = item[method] {
                    operations.append(OpenAPIOperation(method: method.uppercased(), path: PathTemplate(template), definition: definition))
                }
            }
        }
        self.root = root
        self.operations = operations
        self.validator = JSONSchemaValidator(root: root)
    }

    /// The operation for `method` and a concrete `path` (query ignored); of
    /// several matching templates, the one with the most literal segments.
    public func operation(_ method: String, _ path: String) -> OpenAPIOperation? {
        operations.filter { $0.method == method.uppercased() && $0.path.match(path) != nil }
            .max { $0.path.literalCount < $1.path.literalCount }
    }

    /// `value` with a `$ref` (to a response, header or parameter) followed, and its target.
    public func resolved(_ value: JSONValue, pointer: String) -> (value: JSONValue, pointer: String)? {
        var current = (value: value, pointer: pointer)
        for _ in 0..<16 {
            guard case .string(let ref) = current.value["$ref"] else { return current }
            guard let target = validator.resolve(ref) else { return nil }
            current = (target, ref)
        }
        return nil
    }
}
