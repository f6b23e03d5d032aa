import Foundation
import Protocol

extension JSONSchemaValidator.Context {
    static func matches(_ instance: JSONValue, type: String) -> Bool {
        switch (type, instance) {
        case ("null", .null), ("boolean", .bool), ("object", .object), ("array", .array), ("string", .string), ("number", .number):
            return true
        case ("integer", .number(let value)):
            return value.isFinite && value == value.rounded()
        default:
            return false
        }
    }

    static func typeName(_ instance: JSONValue) -> String {
        switch instance {
        case .null: "null"
        case .bool: "boolean"
        case .object: "object"
        case .array: "array"
        case .string: "string"
        case .number(let value): value == value.rounded() ? "integer" : "number"
        }
    }

    /// JSON equality: numbers by value (`1` and `1.0` are equal), objects regardless of key order.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        a == b
    }

    /// RFC 3339 `date-time`, checked loosely: the shape, and fields in range.
    static func isDateTime(_ text: String) -> Bool {
        let pattern = #"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
            let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..<text.endIndex, in: text))
        else { return false }
        func field(_ index: Int) -> Int? {
            guard let range = Range(match.range(at: index), in: text) else { return nil }
            return Int(text[range])
        }
        guard let month = field(2), let day = field(3), let hour = field(4), let minute = field(5), let second = field(6)
        else { return false }
        if let offsetHour = field(9), let offsetMinute = field(10), offsetHour > 23 || offsetMinute > 59 { return false }
        return (1...12).contains(month) && (1...31).contains(day) && hour < 24 && minute < 60 && second <= 60
    }

    /// A short rendering of a value for messages.
    static func brief(_ value: JSONValue) -> String {
        var writer = JSONWriter()
        writer.value(value)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        return text.count > 80 ? String(text.prefix(77)) + "…" : text
    }

    /// The first violation of each failed alternative.
    static func summary(_ results: [[SchemaViolation]]) -> String {
        results.enumerated().map { "[\($0.offset)] " + ($0.element.first.map(\.description) ?? "ok") }.joined(separator: "; ")
    }
}
