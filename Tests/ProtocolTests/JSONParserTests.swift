import Foundation
import Testing

@testable import Protocol

@Suite("JSONParser")
struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func valuesOfEveryKind() throws {
        #expect(try parse(#" {"a":[1,-2.5e2,true,false,null,"x"],"b":{},"c":[]} "#)
            == .object(["a": [1, -250, true, false, nil, "x"], "b": .object([:]), "c": .array([])]))
        #expect(try parse("0") == 0)
        #expect(try parse("-0.0") == .number(-0.0))
        #expect(try parse("1E3") == 1000)
        #expect(try parse(#""""#) == "")
    }

    @Test func stringEscapesAndUnicode() throws {
        #expect(try parse(#""\" \\ \/ \b \f \n \r \t""#) == "\" \\ / \u{08} \u{0C} \n \r \t")
        #expect(try parse(#""\u00e9\u65e5\ud83d\ude80""#) == "é日🚀")
        #expect(try parse("\"é日🚀\"") == "é日🚀")
    }

    @Test func aKeyGivenTwiceKeepsTheLastValue() throws {
        #expect(try parse(#"{"a":1,"a":2}"#) == ["a": 2])
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{'a':1}", "01", "1.", ".5", "+1", "-", "1e", "1e+",
        "0x10", "NaN", "Infinity", "-Infinity", "1e400", "tru", "nulll", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\ud83d\"",
        "\"\\ude80\"", "\"\\ud83d\\u0041\"", "\"tab\there\"", "[1] [2]", "{} x", "[\"a\" \"b\"]",
    ])
    func invalidDocuments(_ text: String) {
        #expect(throws: JSONParser.Error.self) { try parse(text) }
    }

    @Test func invalidUTF8InAStringIsRefused() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(bytes) }
    }

    @Test func nestingIsBounded() throws {
        let ok = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        _ = try parse(ok)
        let deep = String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1)
        #expect(throws: JSONParser.Error.self) { try parse(deep) }
        // Hostile depth fails cleanly (no stack overflow).
        #expect(throws: JSONParser.Error.self) { try parse(String(repeating: "[", count: 100_000)) }
    }

    @Test func errorsNameTheOffset() {
        #expect(throws: JSONParser.Error(offset: 7, reason: "expected ',' or '}'")) { try parse(#"{"a":1 "b":2}"#) }
    }

    @Test func agreesWithFoundationOnGeneratedDocuments() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let value = Self.random(depth: 0, using: &generator)
            var writer = JSONWriter()
            writer.value(value)
            #expect(try JSONParser.parse(writer.bytes) == value)
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(writer.bytes))
            #expect(foundation == value)
        }
    }

    static func random(depth: Int, using generator: inout some RandomNumberGenerator) -> JSONValue {
        switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(Double(Int.random(in: -1_000_000...1_000_000, using: &generator)) / 8)
        case 3:
            let scalars = (0..<Int.random(in: 0..<12, using: &generator)).map { _ in
                Character(Unicode.Scalar([0x22, 0x5C, 0x0A, 0x41, 0xE9, 0x65E5, 0x1F680, 0x01][Int.random(in: 0..<8, using: &generator)])!)
            }
            return .string(String(scalars))
        case 4: return .array((0..<Int.random(in: 0..<4, using: &generator)).map { _ in random(depth: depth + 1, using: &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for index in 0..<Int.random(in: 0..<4, using: &generator) { members["k\(index)"] = random(depth: depth + 1, using: &generator) }
            return .object(members)
        }
    }
}

@Suite("JSONValueDecoder")
struct JSONValueDecoderTests {
    struct Body: Decodable, Equatable {
        var name: String
        var count: Int
        var ratio: Double?
        var flags: [Bool]
        var data: JSONValue
        var nested: Nested?

        struct Nested: Decodable, Equatable {
            var id: String
        }
    }

    @Test func decodesStructsWithJSONValueFields() throws {
        let body = try JSONValueDecoder().decode(
            Body.self, from: Array(#"{"name":"a","count":3,"flags":[true],"data":{"x":[1,"y"]},"nested":{"id":"n"},"ratio":null}"#.utf8))
        #expect(body == Body(name: "a", count: 3, ratio: nil, flags: [true], data: ["x": [1, "y"]], nested: .init(id: "n")))
    }

    @Test func errorsCarryTheCodingPathLikeJSONDecoder() throws {
        func path(_ text: String) -> String? {
            do {
                _ = try JSONValueDecoder().decode(Body.self, from: Array(text.utf8))
                return nil
            } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
                let DecodingError.dataCorrupted(context)
            {
                return context.codingPath.map(\.stringValue).joined(separator: ".")
            } catch let DecodingError.keyNotFound(key, context) {
                return (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
            } catch {
                return "?"
            }
        }
        #expect(path(#"{"name":5,"count":1,"flags":[],"data":null}"#) == "name")
        #expect(path(#"{"name":"a","count":1.5,"flags":[],"data":null}"#) == "count")
        #expect(path(#"{"name":"a","count":1,"flags":[1],"data":null}"#) == "flags.0")
        #expect(path(#"{"name":"a","flags":[],"data":null}"#) == "count")
        #expect(path(#"{"name":"a","count":1,"flags":[],"data":null,"nested":{"id":7}}"#) == "nested.id")
        #expect(path(#"{"name":"a","count":1,"flags":[],"data":null,"#) == "")
    }
}
