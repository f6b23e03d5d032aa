import Foundation
import Testing

@testable import Protocol

private func written(_ build: (inout JSONWriter) -> Void) -> String {
    var writer = JSONWriter()
    build(&writer)
    return utf8(writer.bytes)
}

private func written(_ value: JSONValue) -> String {
    written { $0.value(value) }
}

private func writtenBytes(_ value: JSONValue) -> [UInt8] {
    var writer = JSONWriter()
    writer.value(value)
    return writer.bytes
}

/// Reads a JSON text holding one value (wrapped in an array, so any value works).
private func readBack(_ text: String) throws -> JSONValue {
    let array = try decodeJSON([JSONValue].self, "[\(text)]")
    return try #require(array.first)
}

private func readBackDouble(_ text: String) throws -> Double {
    try #require(try decodeJSON([Double].self, "[\(text)]").first)
}

@Suite("JSONWriter")
struct JSONWriterTests {
    @Test("A new writer is empty; raw appends verbatim")
    func raw() {
        var writer = JSONWriter(capacity: 8)
        #expect(writer.bytes.isEmpty)
        writer.raw("{\"a\":")
        writer.raw("1}")
        #expect(utf8(writer.bytes) == #"{"a":1}"#)
    }

    // MARK: - Literals

    @Test("null, true and false")
    func literals() {
        #expect(written(.null) == "null")
        #expect(written(.bool(true)) == "true")
        #expect(written(.bool(false)) == "false")
    }

    // MARK: - Strings

    @Test("Plain strings are quoted as they are")
    func plainString() {
        #expect(written { $0.string("abc") } == #""abc""#)
        #expect(written { $0.string("") } == #""""#)
        #expect(written { $0.string("a/b") } == #""a/b""#)
    }

    @Test("Quotes and backslashes are escaped")
    func quoteAndBackslash() {
        #expect(written { $0.string("a\"b") } == #""a\"b""#)
        #expect(written { $0.string("a\\b") } == #""a\\b""#)
        #expect(written { $0.string("\\\"") } == #""\\\"""#)
    }

    @Test("Every control character U+0000…U+001F is escaped and reads back", arguments: 0..<0x20)
    func controlCharacter(_ code: Int) throws {
        let text = "a" + String(UnicodeScalar(UInt8(code))) + "b"
        let json = written { $0.string(text) }
        #expect(!json.utf8.contains { $0 < 0x20 }, "raw control byte in \(json.debugDescription)")
        #expect(try readBack(json) == .string(text))
    }

    @Test("Common control characters use their short escapes")
    func shortEscapes() {
        #expect(written { $0.string("\n") } == #""\n""#)
        #expect(written { $0.string("\r") } == #""\r""#)
        #expect(written { $0.string("\t") } == #""\t""#)
        #expect(written { $0.string("\u{0}") } == #""\u0000""#)
        #expect(written { $0.string("\u{1F}") } == #""\u001f""#)
    }

    @Test("Non-ASCII text and DEL are kept as UTF-8", arguments: ["é", "日本語", "🚀", "\u{7F}", "\u{2028}\u{2029}", "a\u{301}"])
    func unicodeKept(_ text: String) throws {
        let json = written { $0.string(text) }
        #expect(json == "\"\(text)\"")
        #expect(try readBack(json) == .string(text))
    }

    @Test("A string of every special character reads back")
    func everythingTogether() throws {
        let text = (0..<0x80).map { String(UnicodeScalar(UInt8($0))) }.joined() + "é日🚀"
        let json = written { $0.string(text) }
        #expect(try readBack(json) == .string(text))
    }

    // MARK: - Numbers

    @Test(
        "Integral numbers are written as integers",
        arguments: [
            (0.0, "0"), (1, "1"), (-1, "-1"), (42, "42"), (75, "75"), (1_000_000, "1000000"),
            (999_999_999_999_999, "999999999999999"), (-999_999_999_999_999, "-999999999999999"),
            (9_007_199_254_740_992 / 16, "562949953421312"),
        ] as [(Double, String)])
    func integers(_ value: Double, _ expected: String) {
        #expect(written { $0.number(value) } == expected)
    }

    @Test("Negative zero is written as a number equal to zero")
    func negativeZero() throws {
        let json = written { $0.number(-0.0) }
        #expect(!json.contains("."))
        #expect(try readBackDouble(json) == 0)
    }

    @Test("Fractions are written with their fractional part", arguments: [(0.5, "0.5"), (-2.25, "-2.25"), (75.5, "75.5"), (0.1, "0.1")] as [(Double, String)])
    func fractions(_ value: Double, _ expected: String) {
        #expect(written { $0.number(value) } == expected)
    }

    @Test(
        "Every finite number reads back exactly",
        arguments: [
            0.1, 0.2 + 0.1, -2.5, 1.0 / 3.0, 1e-7, 1.5e-7, 123.456, 1e15, -1e15, 1e15 + 1, 1e16, 2e20, 1e21, 1.5e300,
            -1.5e300, Double.leastNonzeroMagnitude, Double.leastNormalMagnitude, Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude,
            9_007_199_254_740_992, 999_999_999_999_999.5, 123_456_789_012_345, Double.pi,
        ])
    func numberRoundTrip(_ value: Double) throws {
        let json = written { $0.number(value) }
        #expect(try readBackDouble(json) == value, "\(value) written as \(json)")
        #expect(try readBack(json) == .number(value))
        #expect(try JSONSerialization.jsonObject(with: Data("[\(json)]".utf8)) is [Any])
    }

    @Test("NaN and infinities are written as null", arguments: [Double.nan, .infinity, -.infinity, .signalingNaN])
    func nonFinite(_ value: Double) {
        #expect(written { $0.number(value) } == "null")
        #expect(written(.number(value)) == "null")
        #expect(written(["x": .number(value)]) == #"{"x":null}"#)
    }

    // MARK: - Arrays and objects

    @Test("Arrays and objects are compact")
    func compact() {
        #expect(written(.array([])) == "[]")
        #expect(written(.object([:])) == "{}")
        #expect(written([1, "a", nil, true, [false]]) == #"[1,"a",null,true,[false]]"#)
        #expect(written(["a": 1]) == #"{"a":1}"#)
        #expect(written(["a": ["b": [1, 2]]]) == #"{"a":{"b":[1,2]}}"#)
    }

    @Test("Object keys are written in sorted order")
    func sortedKeys() {
        #expect(written(["b": 1, "a": 2, "c": 3]) == #"{"a":2,"b":1,"c":3}"#)
        #expect(written(["z": ["y": 1, "x": 2], "a": [["d": 0, "c": 0]]]) == #"{"a":[{"c":0,"d":0}],"z":{"x":2,"y":1}}"#)
        #expect(written(["b": 1, "B": 2, "_": 3, "1": 4]) == #"{"1":4,"B":2,"_":3,"b":1}"#)
    }

    @Test("Equal values give equal bytes, whatever the dictionaries' insertion order")
    func equalValuesEqualBytes() {
        let keys = (0..<64).map { "key_\($0)" }
        var a: [String: JSONValue] = [:]
        var b: [String: JSONValue] = [:]
        b.reserveCapacity(1000)
        for (i, key) in keys.enumerated() { a[key] = .number(Double(i)) }
        for (i, key) in keys.enumerated().reversed() { b[key] = .number(Double(i)) }
        let nestedA: JSONValue = ["outer": .object(a), "list": [.object(a)]]
        let nestedB: JSONValue = ["list": [.object(b)], "outer": .object(b)]
        #expect(nestedA == nestedB)
        #expect(writtenBytes(nestedA) == writtenBytes(nestedB))
    }

    @Test("Object keys are escaped like strings")
    func keysEscaped() throws {
        let value: JSONValue = ["a\"b": 1, "c\\d": 2, "e\nf": 3, "é": 4]
        let json = written(value)
        #expect(try readBack(json) == value)
    }

    static let nested: JSONValue = [
        "operation_id": "op_456",
        "progress": 75,
        "ratio": 0.75,
        "ok": true,
        "none": nil,
        "stages": ["build", "deploy", ["nested": [1, 2.5, -3, [] as JSONValue, [:] as JSONValue]]],
        "meta": ["a": ["b": ["c": ["d": "deep"]]]],
        "text": "quote \" backslash \\ newline \n nul \u{0} é 🚀",
    ]

    @Test("Nested values round trip through JSONDecoder and JSONSerialization")
    func nestedRoundTrip() throws {
        let json = written(Self.nested)
        #expect(try readBack(json) == Self.nested)
        let object = try jsonObject(Array(json.utf8))
        #expect((object["progress"] as? NSNumber)?.intValue == 75)
        #expect(object["none"] is NSNull)
        #expect(object["text"] as? String == Self.nested["text"]?.stringValue)
    }

    @Test("Writing appends: several values can be composed into one text")
    func composition() throws {
        var writer = JSONWriter()
        writer.raw("[")
        writer.string("x")
        writer.raw(",")
        writer.number(2)
        writer.raw(",")
        writer.value(["k": "v"])
        writer.raw("]")
        #expect(utf8(writer.bytes) == #"["x",2,{"k":"v"}]"#)
    }
}
