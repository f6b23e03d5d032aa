import Foundation
import Testing

@testable import Protocol

private func decodeValue(_ text: String) throws -> JSONValue {
    // Wrapped in an array so that scalars are decoded through a container too.
    try #require(try decodeJSON([JSONValue].self, "[\(text)]").first)
}

@Suite("JSONValue")
struct JSONValueTests {
    // MARK: - Decoding

    @Test(
        "Scalars decode to the right case",
        arguments: [
            ("null", JSONValue.null),
            ("true", .bool(true)),
            ("false", .bool(false)),
            ("0", .number(0)),
            ("1", .number(1)),
            ("-1", .number(-1)),
            ("75", .number(75)),
            ("2.5", .number(2.5)),
            ("-0.125", .number(-0.125)),
            ("1e3", .number(1000)),
            ("1E-2", .number(0.01)),
            (#""x""#, .string("x")),
            (#""""#, .string("")),
            (#""true""#, .string("true")),
            (#""1""#, .string("1")),
            (#""null""#, .string("null")),
            (#""\u00e9\n\"""#, .string("é\n\"")),
        ])
    func scalars(_ text: String, _ expected: JSONValue) throws {
        #expect(try decodeValue(text) == expected)
    }

    @Test("0 and 1 are numbers, not booleans; true and false are booleans, not numbers")
    func boolVersusNumber() throws {
        #expect(try decodeValue("1") == .number(1))
        #expect(try decodeValue("0") == .number(0))
        #expect(try decodeValue("true") == .bool(true))
        #expect(try decodeValue("false") == .bool(false))
        #expect(try decodeValue("[1,true,0,false]") == .array([.number(1), .bool(true), .number(0), .bool(false)]))
    }

    @Test("A top-level scalar decodes")
    func topLevelScalar() throws {
        #expect(try decodeJSON(JSONValue.self, "42") == .number(42))
        #expect(try decodeJSON(JSONValue.self, "null") == .null)
    }

    @Test("Arrays and objects decode, with nulls kept")
    func containers() throws {
        #expect(try decodeValue("[]") == .array([]))
        #expect(try decodeValue("{}") == .object([:]))
        #expect(try decodeValue(#"[1,"a",null,[true]]"#) == .array([.number(1), .string("a"), .null, .array([.bool(true)])]))
        #expect(
            try decodeValue(#"{"a":null,"b":{"c":[1,{"d":false}]}}"#)
                == .object([
                    "a": .null,
                    "b": .object(["c": .array([.number(1), .object(["d": .bool(false)])])]),
                ]))
    }

    @Test("Invalid JSON does not decode")
    func invalid() {
        #expect(throws: (any Error).self) { try decodeJSON(JSONValue.self, "{") }
        #expect(throws: (any Error).self) { try decodeJSON(JSONValue.self, "nope") }
    }

    // MARK: - Encoding

    static let samples: [JSONValue] = [
        .null, true, false, 0, 1, -1, 0.5, 1e300, "", "text", "é\n\"\\🚀", [], [:],
        [1, "two", nil, [3.5], ["k": false]],
        [
            "operation_id": "op_456", "progress": 75, "ratio": 0.75, "done": false, "none": nil,
            "stages": ["build", "deploy"], "nested": ["a": ["b": ["c": [1, 2, 3]]]],
        ],
    ]

    @Test("Values round trip through JSONEncoder and JSONDecoder", arguments: samples)
    func codableRoundTrip(_ value: JSONValue) throws {
        let bytes = try encodeJSON([value])
        #expect(try decodeJSON([JSONValue].self, bytes) == [value])
    }

    @Test("Values round trip through JSONWriter and JSONDecoder", arguments: samples)
    func writerRoundTrip(_ value: JSONValue) throws {
        var writer = JSONWriter()
        writer.value(value)
        #expect(try decodeValue(utf8(writer.bytes)) == value)
    }

    @Test("Encoding writes JSON types, not strings: checked with JSONSerialization")
    func encodedTypes() throws {
        let value: JSONValue = ["n": 1.5, "b": true, "s": "x", "z": nil, "a": [1]]
        let object = try jsonObject(try encodeJSON(value))
        #expect((object["n"] as? NSNumber)?.doubleValue == 1.5)
        #expect(object["s"] as? String == "x")
        #expect(object["z"] is NSNull)
        #expect((object["a"] as? [Any])?.count == 1)
        #expect(Set(object.keys) == ["n", "b", "s", "z", "a"])
        #expect(utf8(try encodeJSON(value)).contains(#""b":true"#))
    }

    // MARK: - Literals and accessors

    @Test("Literals build the matching cases")
    func literals() {
        #expect(("s" as JSONValue) == .string("s"))
        #expect((3 as JSONValue) == .number(3))
        #expect((2.5 as JSONValue) == .number(2.5))
        #expect((true as JSONValue) == .bool(true))
        #expect((nil as JSONValue) == .null)
        #expect(([1, "a"] as JSONValue) == .array([.number(1), .string("a")]))
        #expect((["k": 1] as JSONValue) == .object(["k": .number(1)]))
    }

    @Test("A repeated key in a dictionary literal keeps the last value")
    func duplicateKeys() {
        let value = JSONValue(dictionaryLiteral: ("a", 1), ("b", 2), ("a", 3))
        #expect(value == .object(["a": 3, "b": 2]))
    }

    @Test("subscript reads object members only")
    func subscriptAccess() {
        let value: JSONValue = ["a": 1, "n": nil]
        #expect(value["a"] == .number(1))
        #expect(value["n"] == .some(.null))
        #expect(value["missing"] == nil)
        #expect(JSONValue.array([1])["a"] == nil)
        #expect(JSONValue.string("a")["a"] == nil)
        #expect(JSONValue.null["a"] == nil)
    }

    @Test("stringValue, doubleValue and isObject")
    func typedAccessors() {
        #expect(JSONValue.string("x").stringValue == "x")
        #expect(JSONValue.number(1).stringValue == nil)
        #expect(JSONValue.number(2.5).doubleValue == 2.5)
        #expect(JSONValue.string("2.5").doubleValue == nil)
        #expect(JSONValue.bool(true).doubleValue == nil)
        #expect(JSONValue.object([:]).isObject)
        #expect(!JSONValue.array([]).isObject)
        #expect(!JSONValue.null.isObject)
    }

    @Test("Cases are distinct: equality and hashing")
    func distinctCases() {
        let values: [JSONValue] = [.null, .bool(true), .bool(false), .number(1), .number(0), .string("1"), .string("true"), .array([]), .object([:])]
        #expect(Set(values).count == values.count)
        #expect(JSONValue.number(1) == .number(1.0))
        #expect(Set([["a": 1, "b": 2] as JSONValue, ["b": 2, "a": 1] as JSONValue]).count == 1)
    }
}
