import Foundation
import HubTesting
import Protocol
import Testing

/// The JSON-Schema validator of the conformance tests, on valid and invalid
/// instances of every keyword it supports (so it can fail).
@Suite("OpenAPI schema validator")
struct OpenAPISchemaValidatorTests {
    /// A document whose `$ref`s the schemas below use.
    static let document: JSONValue = [
        "components": [
            "schemas": [
                "Name": ["type": "string", "minLength": 1],
                "Pet": [
                    "type": "object", "required": ["name"], "additionalProperties": false,
                    "properties": ["name": ["$ref": "#/components/schemas/Name"], "age": ["type": "integer", "minimum": 0]],
                ],
                "a/b~c": ["const": "escaped"],
            ]
        ]
    ]

    func violations(_ instance: JSONValue, _ schema: JSONValue) -> [SchemaViolation] {
        JSONSchemaValidator(root: Self.document).validate(instance, against: schema)
    }

    func valid(_ instance: JSONValue, _ schema: JSONValue) -> Bool { violations(instance, schema).isEmpty }

    @Test func types() {
        #expect(valid(3, ["type": "integer"]))
        #expect(valid(3.0, ["type": "integer"]))
        #expect(!valid(3.5, ["type": "integer"]))
        #expect(valid(3.5, ["type": "number"]))
        #expect(!valid("3", ["type": "number"]))
        #expect(!valid(true, ["type": "integer"]))
        #expect(valid(nil, ["type": ["string", "null"]]))
        #expect(valid("x", ["type": ["string", "null"]]))
        #expect(!valid(1, ["type": ["string", "null"]]))
        #expect(!valid(nil, ["type": "object"]))
        #expect(valid([:], ["type": "object"]))
        #expect(!valid([], ["type": "object"]))
        #expect(valid([], ["type": "array"]))
        #expect(valid(false, ["type": "boolean"]))
        #expect(!valid("false", ["type": "boolean"]))
    }

    @Test func objects() {
        let pet: JSONValue = ["$ref": "#/components/schemas/Pet"]
        #expect(valid(["name": "rex", "age": 3], pet))
        let missing = violations(["age": 3], pet)
        #expect(missing.count == 1)
        #expect(missing.first?.message.contains("'name'") == true)
        #expect(missing.first?.schemaPath == "#/components/schemas/Pet/required")
        let extra = violations(["name": "rex", "colour": "brown"], pet)
        #expect(extra.map(\.instancePath) == ["/colour"])
        let nested = violations(["name": "", "age": -1], pet)
        #expect(Set(nested.map(\.instancePath)) == ["/name", "/age"])
        let map: JSONValue = ["type": "object", "additionalProperties": ["type": "integer"]]
        #expect(valid(["a": 1, "b": 2], map))
        #expect(violations(["a": 1, "b": "two"], map).map(\.instancePath) == ["/b"])
        // Without additionalProperties, other members are allowed.
        #expect(valid(["x": 1], ["type": "object", "properties": ["y": ["type": "string"]]]))
    }

    @Test func enumsAndConstants() {
        let status: JSONValue = ["enum": ["pending", "succeeded"]]
        #expect(valid("pending", status))
        #expect(!valid("done", status))
        #expect(!valid(nil, status))
        #expect(valid(true, ["const": true]))
        #expect(!valid(false, ["const": true]))
        #expect(valid(["a": [1, 2]], ["const": ["a": [1, 2]]]))
        #expect(!valid(["a": [2, 1]], ["const": ["a": [1, 2]]]))
        #expect(valid(1, ["const": 1.0]))
    }

    @Test func arrays() {
        let schema: JSONValue = ["type": "array", "items": ["type": "string"], "minItems": 1, "maxItems": 2]
        #expect(valid(["a"], schema))
        #expect(!valid([], schema))
        #expect(!valid(["a", "b", "c"], schema))
        #expect(violations(["a", 2], schema).map(\.instancePath) == ["/1"])
    }

    @Test func strings() {
        #expect(valid("op_1", ["pattern": "^op_[0-9]+$"]))
        #expect(!valid("xop_1", ["pattern": "^op_[0-9]+$"]))
        #expect(valid("xop_1", ["pattern": "op_"]), "patterns are unanchored")
        #expect(valid(5, ["pattern": "^x$"]), "pattern applies to strings only")
        #expect(!valid("abc", ["maxLength": 2]))
        #expect(valid("ab", ["maxLength": 2]))
        #expect(valid("é", ["maxLength": 1]), "lengths count characters, not bytes")
        #expect(!valid("", ["minLength": 1]))
        #expect(!valid("x", ["pattern": "("]), "an invalid pattern is reported")
    }

    @Test func dateTimes() {
        let schema: JSONValue = ["type": "string", "format": "date-time"]
        for text in ["2026-11-22T10:30:00Z", "2026-11-22T10:30:00.123Z", "2026-11-22t10:30:00+01:00"] {
            #expect(valid(.string(text), schema), "\(text)")
        }
        for text in ["2026-13-01T00:00:00Z", "2026-11-22 10:30:00Z", "2026-11-22T10:30:00", "yesterday", "2026-11-22T25:00:00Z"] {
            #expect(!valid(.string(text), schema), "\(text)")
        }
        #expect(valid(nil, ["type": ["string", "null"], "format": "date-time"]))
        #expect(!valid("x", ["format": "email"]), "an unsupported format is reported, not ignored")
    }

    @Test func numbers() {
        let schema: JSONValue = ["minimum": 0, "maximum": 100]
        #expect(valid(0, schema))
        #expect(valid(100, schema))
        #expect(!valid(-1, schema))
        #expect(!valid(100.5, schema))
        #expect(!valid(0, ["exclusiveMinimum": 0]))
        #expect(!valid(10, ["exclusiveMaximum": 10]))
        #expect(valid(9, ["exclusiveMaximum": 10]))
    }

    @Test func references() {
        #expect(valid("escaped", ["$ref": "#/components/schemas/a~1b~0c"]))
        #expect(!valid("other", ["$ref": "#/components/schemas/a~1b~0c"]))
        let unresolvable = violations("x", ["$ref": "#/components/schemas/Nope"])
        #expect(unresolvable.first?.message.contains("unresolvable") == true)
        // Keywords beside $ref apply too (2020-12).
        #expect(!valid("a", ["$ref": "#/components/schemas/Name", "maxLength": 0]))
        let loop: JSONValue = ["components": ["schemas": ["Loop": ["$ref": "#/components/schemas/Loop"]]]]
        #expect(!JSONSchemaValidator(root: loop).validate(1, ref: "#/components/schemas/Loop").isEmpty)
    }

    @Test func combinators() {
        let both: JSONValue = ["allOf": [["type": "integer"], ["minimum": 10]]]
        #expect(valid(10, both))
        #expect(!valid(9, both))
        let either: JSONValue = ["anyOf": [["type": "null"], ["type": "string"]]]
        #expect(valid(nil, either))
        #expect(valid("x", either))
        #expect(!valid(1, either))
        let exactlyOne: JSONValue = ["oneOf": [["type": "integer"], ["type": "number", "minimum": 5]]]
        #expect(valid(1, exactlyOne))
        #expect(valid(5.5, exactlyOne))
        #expect(!valid(7, exactlyOne), "matches both alternatives")
        #expect(!valid("x", exactlyOne), "matches neither")
        #expect(valid("x", ["not": ["type": "integer"]]))
        #expect(!valid(1, ["not": ["type": "integer"]]))
        #expect(valid(1, true))
        #expect(!valid(1, false))
        #expect(valid(1, [:]))
    }

    @Test func unknownKeywordsAreReportedNotIgnored() {
        let schema: JSONValue = ["type": "object", "patternProperties": ["^x": ["type": "string"]], "description": "d", "x-note": 1]
        let found = violations(["x1": 1], schema)
        #expect(found.count == 1)
        #expect(found.first?.message.contains("patternProperties") == true)
        let validator = JSONSchemaValidator(root: Self.document)
        #expect(validator.unsupportedKeywords(in: ["properties": ["a": ["uniqueItems": true]]]) == ["#/properties/a: uniqueItems"])
    }

    @Test func yamlAndJSONConversion() throws {
        let yaml = try JSONValue.parseYAML(
            """
            responses:
              '200': {description: ok}
              404: {description: nope}
            flag: true
            quoted: 'no'
            count: 3
            ratio: 0.5
            nothing: null
            list: [a, 1]
            """)
        #expect(yaml["responses"]?["200"]?["description"] == "ok")
        #expect(yaml["responses"]?["404"]?["description"] == "nope")
        #expect(yaml["flag"] == .bool(true))
        #expect(yaml["quoted"] == .string("no"))
        #expect(yaml["count"] == .number(3))
        #expect(yaml["ratio"] == .number(0.5))
        #expect(yaml["nothing"] == .null)
        #expect(yaml["list"] == ["a", 1])
        #expect(throws: (any Error).self) { try JSONValue.parseYAML("a: 1\na: 2") }
        let json = try JSONValue.parseJSON(Data(#"{"n":1,"b":true,"z":0,"f":false,"s":"1"}"#.utf8))
        #expect(json == ["n": 1, "b": true, "z": 0, "f": false, "s": "1"])
    }
}
