import Foundation
import Testing

// Helpers shared by the Protocol tests. Wire checks parse the produced bytes
// with Foundation (JSONSerialization / JSONDecoder into local mirror types),
// never with the code under test.

struct NotAJSONObject: Error {}

/// The JSON object in `bytes`, parsed with JSONSerialization.
func jsonObject(_ bytes: [UInt8]) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(bytes))
    guard let object = value as? [String: Any] else { throw NotAJSONObject() }
    return object
}

/// The member names of the JSON object in `bytes`.
func jsonKeys(_ bytes: [UInt8]) throws -> Set<String> {
    Set(try jsonObject(bytes).keys)
}

/// The member names of a nested object.
func jsonKeys(_ value: Any?) throws -> Set<String> {
    let object = try #require(value as? [String: Any])
    return Set(object.keys)
}

func utf8(_ bytes: [UInt8]) -> String {
    String(decoding: bytes, as: UTF8.self)
}

func decodeJSON<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
    try JSONDecoder().decode(type, from: Data(bytes))
}

func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(text.utf8))
}

func encodeJSON(_ value: some Encodable) throws -> [UInt8] {
    Array(try JSONEncoder().encode(value))
}

func repeated(_ text: String, _ count: Int) -> String {
    String(repeating: text, count: count)
}

/// A fixed UTC instant built with Calendar, independently of `Timestamp`.
func utcDate(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int) -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    return calendar.date(from: components)!
}
