import Foundation
import Protocol

/// A small JSON Schema (2020-12 subset) validator for the schemas of
/// `Docs/openapi.yaml`. It supports exactly the keywords in
/// `supportedKeywords`; any other keyword in a schema it meets is reported as
/// a violation, so a spec that starts using one cannot pass unchecked.
///
/// - `$ref`: local JSON pointers into the document (`#/components/schemas/X`),
///   applied together with the keywords beside it;
/// - `type` (one name or an array; `integer` is a number without a fraction),
///   `enum`, `const`;
/// - objects: `properties`, `required`, `additionalProperties` (`false` or a schema);
/// - arrays: `items`, `minItems`, `maxItems`;
/// - strings: `minLength`, `maxLength` (in Unicode scalars), `pattern`
///   (unanchored search, as JSON Schema says), `format: date-time` (RFC 3339, loosely);
/// - numbers: `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`;
/// - `allOf`, `anyOf`, `oneOf`, `not`; boolean schemas.
///
/// Annotations (`description`, `examples`, `default`, …) and `x-` extensions are ignored.
public struct JSONSchemaValidator: Sendable {
    public static let supportedKeywords: Set<String> = [
        "$ref", "type", "enum", "const", "properties", "required", "additionalProperties", "items", "minItems",
        "maxItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "allOf", "anyOf", "oneOf", "not",
    ]
    public static let annotationKeywords: Set<String> = [
        "description", "title", "examples", "example", "default", "deprecated", "readOnly", "writeOnly", "$comment",
    ]
    public static let supportedFormats: Set<String> = ["date-time"]

    /// The document `$ref`s point into.
    public let root: JSONValue
    /// Deepest chain of `$ref`s followed before giving up (a cycle without progress).
    static let maxDepth = 64

    public init(root: JSONValue) {
        self.root = root
    }

    /// The violations of `instance` against `schema` (empty: valid). `schemaPath`
    /// names where `schema` sits in the document, for the messages.
    public func validate(_ instance: JSONValue, against schema: JSONValue, schemaPath: String = "#") -> [SchemaViolation] {
        var context = Context(root: root)
        context.check(instance, schema, instancePath: "", schemaPath: schemaPath, depth: 0)
        return context.violations
    }

    /// The violations of `instance` against the schema at `ref` (`#/components/schemas/Operation`).
    public func validate(_ instance: JSONValue, ref: String) -> [SchemaViolation] {
        validate(instance, against: .object(["$ref": .string(ref)]), schemaPath: "#")
    }

    /// The value a local `$ref` names, or `nil`.
    public func resolve(_ ref: String) -> JSONValue? {
        Self.resolve(ref, in: root)
    }

    static func resolve(_ ref: String, in root: JSONValue) -> JSONValue? {
        guard ref == "#" || ref.hasPrefix("#/") else { return nil }
        var value = root
        let pointer = ref.dropFirst(1)
        guard !pointer.isEmpty else { return value }
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let token = String(raw).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch value {
            case .object(let members):
                guard let next = members[token] else { return nil }
                value = next
            case .array(let items):
                guard let index = Int(token), items.indices.contains(index) else { return nil }
                value = items[index]
            default:
                return nil
            }
        }
        return value
    }

    /// Keywords in `schema` and its subschemas (not following `$ref`) that this
    /// validator does not know, as `path: keyword`.
    public func unsupportedKeywords(in schema: JSONValue, at path: String = "#") -> [String] {
        guard case .object(let members) = schema else { return [] }
        var found: [String] = []
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            let here = path + "/" + SchemaViolation.escape(key)
            if key.hasPrefix("x-") || Self.annotationKeywords.contains(key) { continue }
            guard Self.supportedKeywords.contains(key) else {
                found.append("\(path): \(key)")
                continue
            }
            switch key {
            case "properties":
                if case .object(let properties) = value {
                    for (name, sub) in properties.sorted(by: { $0.key < $1.key }) {
                        found += unsupportedKeywords(in: sub, at: here + "/" + SchemaViolation.escape(name))
                    }
                }
            case "items", "additionalProperties", "not":
                found += unsupportedKeywords(in: value, at: here)
            case "allOf", "anyOf", "oneOf":
                if case .array(let subs) = value {
                    for (index, sub) in subs.enumerated() { found += unsupportedKeywords(in: sub, at: here + "/\(index)") }
                }
            case "format":
                if case .string(let format) = value, !Self.supportedFormats.contains(format) { found.append("\(here): \(format)") }
            default:
                break
            }
        }
        return found
    }
}
