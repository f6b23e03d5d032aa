import Foundation

/// A JSON object written in insertion order.
struct JSONObject {
    private var parts: [String] = []

    var text: String { "{" + self.parts.joined(separator: ",") + "}" }

    mutating func addRaw(_ key: String, _ json: String) {
        self.parts.append("\(Self.quote(key)):\(json)")
    }

    mutating func add(_ key: String, _ value: String) { self.addRaw(key, Self.quote(value)) }
    mutating func add(_ key: String, _ value: Int) { self.addRaw(key, String(value)) }
    mutating func add(_ key: String, _ value: Bool) { self.addRaw(key, value ? "true" : "false") }
    mutating func add(_ key: String, _ value: Double?) {
        guard let value, value.isFinite else {
            self.addRaw(key, "null")
            return
        }
        self.addRaw(key, value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.3f", value))
    }

    static func map<K: CustomStringConvertible & Comparable>(_ dict: [K: Int]) -> String {
        "{" + dict.sorted { $0.key < $1.key }.map { "\(quote($0.key.description)):\($0.value)" }.joined(separator: ",") + "}"
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
