import Foundation
import Protocol
import Yams

extension JSONValue {
    /// A YAML document as JSON: mappings become objects (keys as strings, so
    /// `'200':` and `200:` are the same key), sequences arrays, and scalars
    /// take the type YAML's core schema resolves (`null`, booleans, integers,
    /// floats; everything else, and every quoted scalar, a string).
    public static func parseYAML(_ text: String) throws -> JSONValue {
        guard let node = try Yams.compose(yaml: text) else { throw YAMLConversionError(message: "the YAML document is empty") }
        return try JSONValue(yaml: node, at: "")
    }

    /// A JSON text (an HTTP body, an NDJSON line, an SSE `data:`) as a value.
    public static func parseJSON(_ data: Data) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: data)
    }

    init(yaml node: Node, at path: String) throws {
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: self = .null
            case .bool:
                guard let value = node.bool else { throw YAMLConversionError(message: "\(path): not a boolean") }
                self = .bool(value)
            case .int:
                guard let value = node.int else { throw YAMLConversionError(message: "\(path): not an integer") }
                self = .number(Double(value))
            case .float:
                guard let value = node.float else { throw YAMLConversionError(message: "\(path): not a number") }
                self = .number(value)
            default: self = .string(scalar.string)
            }
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard let name = key.string else { throw YAMLConversionError(message: "\(path): a key that is not a scalar") }
                guard members[name] == nil else { throw YAMLConversionError(message: "\(path): duplicate key '\(name)'") }
                members[name] = try JSONValue(yaml: value, at: path + "/" + name)
            }
            self = .object(members)
        case .sequence(let sequence):
            self = .array(try sequence.enumerated().map { try JSONValue(yaml: $0.element, at: path + "/\($0.offset)") })
        case .alias:
            throw YAMLConversionError(message: "\(path): YAML aliases are not supported")
        }
    }
}

public struct YAMLConversionError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
