import Foundation
import Protocol

extension JSONSchemaValidator {
    /// One validation run: walks the schema and the instance together and
    /// collects violations.
    struct Context {
        let root: JSONValue
        var violations: [SchemaViolation] = []

        init(root: JSONValue) {
            self.root = root
        }

        mutating func fail(_ instancePath: String, _ schemaPath: String, _ message: String) {
            violations.append(SchemaViolation(instancePath: instancePath, schemaPath: schemaPath, message: message))
        }

        /// Whether `instance` is valid against `schema`, without recording anything.
        func passes(_ instance: JSONValue, _ schema: JSONValue, _ instancePath: String, _ schemaPath: String, _ depth: Int)
            -> [SchemaViolation]
        {
            var trial = Context(root: root)
            trial.check(instance, schema, instancePath: instancePath, schemaPath: schemaPath, depth: depth)
            return trial.violations
        }

        mutating func check(_ instance: JSONValue, _ schema: JSONValue, instancePath: String, schemaPath: String, depth: Int) {
            guard depth <= JSONSchemaValidator.maxDepth else {
                fail(instancePath, schemaPath, "more than \(JSONSchemaValidator.maxDepth) nested $ref")
                return
            }
            let keywords: [String: JSONValue]
            switch schema {
            case .bool(true): return
            case .bool(false):
                fail(instancePath, schemaPath, "no value is allowed here (schema false)")
                return
            case .object(let members): keywords = members
            default:
                fail(instancePath, schemaPath, "the schema is not an object or a boolean")
                return
            }
            for key in keywords.keys.sorted()
            where !key.hasPrefix("x-") && !JSONSchemaValidator.supportedKeywords.contains(key)
                && !JSONSchemaValidator.annotationKeywords.contains(key)
            {
                fail(instancePath, schemaPath, "unsupported schema keyword '\(key)'")
            }
            if let ref = keywords["$ref"] {
                guard case .string(let target) = ref, let resolved = JSONSchemaValidator.resolve(target, in: root) else {
                    fail(instancePath, schemaPath + "/$ref", "unresolvable $ref \(ref)")
                    return
                }
                check(instance, resolved, instancePath: instancePath, schemaPath: target, depth: depth + 1)
            }
            checkType(instance, keywords, instancePath, schemaPath)
            if let allowed = keywords["enum"] {
                if case .array(let values) = allowed {
                    if !values.contains(where: { Self.equal($0, instance) }) {
                        fail(instancePath, schemaPath + "/enum", "\(Self.brief(instance)) is not one of \(Self.brief(allowed))")
                    }
                } else {
                    fail(instancePath, schemaPath + "/enum", "enum is not an array")
                }
            }
            if let constant = keywords["const"], !Self.equal(constant, instance) {
                fail(instancePath, schemaPath + "/const", "\(Self.brief(instance)) is not \(Self.brief(constant))")
            }
            switch instance {
            case .object(let members): checkObject(members, keywords, instancePath, schemaPath, depth)
            case .array(let items): checkArray(items, keywords, instancePath, schemaPath, depth)
            case .string(let text): checkString(text, keywords, instancePath, schemaPath)
            case .number(let number): checkNumber(number, keywords, instancePath, schemaPath)
            case .bool, .null: break
            }
            checkCombinators(instance, keywords, instancePath, schemaPath, depth)
        }

        mutating func checkType(_ instance: JSONValue, _ keywords: [String: JSONValue], _ instancePath: String, _ schemaPath: String) {
            guard let type = keywords["type"] else { return }
            let names: [String]
            switch type {
            case .string(let name): names = [name]
            case .array(let items): names = items.compactMap(\.stringValue)
            default:
                fail(instancePath, schemaPath + "/type", "type is not a name or an array of names")
                return
            }
            if !names.contains(where: { Self.matches(instance, type: $0) }) {
                fail(instancePath, schemaPath + "/type", "\(Self.typeName(instance)) is not of type \(names.joined(separator: " or "))")
            }
        }

        mutating func checkObject(
            _ members: [String: JSONValue], _ keywords: [String: JSONValue], _ instancePath: String, _ schemaPath: String, _ depth: Int
        ) {
            if case .array(let required) = keywords["required"] {
                for case .string(let name) in required where members[name] == nil {
                    fail(instancePath, schemaPath + "/required", "required property '\(name)' is missing")
                }
            }
            var properties: [String: JSONValue] = [:]
            if case .object(let declared) = keywords["properties"] { properties = declared }
            for (name, value) in members.sorted(by: { $0.key < $1.key }) {
                let childPath = instancePath + "/" + SchemaViolation.escape(name)
                if let sub = properties[name] {
                    check(value, sub, instancePath: childPath, schemaPath: schemaPath + "/properties/" + SchemaViolation.escape(name), depth: depth)
                } else if let additional = keywords["additionalProperties"] {
                    if case .bool(false) = additional {
                        fail(childPath, schemaPath + "/additionalProperties", "property '\(name)' is not allowed")
                    } else {
                        check(value, additional, instancePath: childPath, schemaPath: schemaPath + "/additionalProperties", depth: depth)
                    }
                }
            }
        }

        mutating func checkArray(
            _ items: [JSONValue], _ keywords: [String: JSONValue], _ instancePath: String, _ schemaPath: String, _ depth: Int
        ) {
            if let minimum = keywords["minItems"]?.doubleValue, Double(items.count) < minimum {
                fail(instancePath, schemaPath + "/minItems", "\(items.count) items, at least \(Int(minimum)) expected")
            }
            if let maximum = keywords["maxItems"]?.doubleValue, Double(items.count) > maximum {
                fail(instancePath, schemaPath + "/maxItems", "\(items.count) items, at most \(Int(maximum)) expected")
            }
            if let itemSchema = keywords["items"] {
                for (index, item) in items.enumerated() {
                    check(item, itemSchema, instancePath: instancePath + "/\(index)", schemaPath: schemaPath + "/items", depth: depth)
                }
            }
        }

        mutating func checkString(_ text: String, _ keywords: [String: JSONValue], _ instancePath: String, _ schemaPath: String) {
            let length = Double(text.unicodeScalars.count)
            if let minimum = keywords["minLength"]?.doubleValue, length < minimum {
                fail(instancePath, schemaPath + "/minLength", "\(Self.brief(.string(text))) is shorter than \(Int(minimum))")
            }
            if let maximum = keywords["maxLength"]?.doubleValue, length > maximum {
                fail(instancePath, schemaPath + "/maxLength", "a string of \(Int(length)) characters is longer than \(Int(maximum))")
            }
            if let pattern = keywords["pattern"] {
                guard case .string(let source) = pattern, let regex = try? NSRegularExpression(pattern: source) else {
                    fail(instancePath, schemaPath + "/pattern", "invalid pattern \(pattern)")
                    return
                }
                let range = NSRange(text.startIndex..<text.endIndex, in: text)
                if regex.firstMatch(in: text, range: range) == nil {
                    fail(instancePath, schemaPath + "/pattern", "\(Self.brief(.string(text))) does not match \(source)")
                }
            }
            if let format = keywords["format"] {
                switch format {
                case .string("date-time"):
                    if !Self.isDateTime(text) {
                        fail(instancePath, schemaPath + "/format", "\(Self.brief(.string(text))) is not an RFC 3339 date-time")
                    }
                default:
                    fail(instancePath, schemaPath + "/format", "unsupported format \(format)")
                }
            }
        }

        mutating func checkNumber(_ number: Double, _ keywords: [String: JSONValue], _ instancePath: String, _ schemaPath: String) {
            let text = Self.brief(.number(number))
            if let minimum = keywords["minimum"]?.doubleValue, number < minimum {
                fail(instancePath, schemaPath + "/minimum", "\(text) is less than \(Self.brief(.number(minimum)))")
            }
            if let maximum = keywords["maximum"]?.doubleValue, number > maximum {
                fail(instancePath, schemaPath + "/maximum", "\(text) is greater than \(Self.brief(.number(maximum)))")
            }
            if let minimum = keywords["exclusiveMinimum"]?.doubleValue, number <= minimum {
                fail(instancePath, schemaPath + "/exclusiveMinimum", "\(text) is not greater than \(Self.brief(.number(minimum)))")
            }
            if let maximum = keywords["exclusiveMaximum"]?.doubleValue, number >= maximum {
                fail(instancePath, schemaPath + "/exclusiveMaximum", "\(text) is not less than \(Self.brief(.number(maximum)))")
            }
        }

        mutating func checkCombinators(
            _ instance: JSONValue, _ keywords: [String: JSONValue], _ instancePath: String, _ schemaPath: String, _ depth: Int
        ) {
            if case .array(let subs) = keywords["allOf"] {
                for (index, sub) in subs.enumerated() {
                    check(instance, sub, instancePath: instancePath, schemaPath: schemaPath + "/allOf/\(index)", depth: depth)
                }
            }
            if case .array(let subs) = keywords["anyOf"] {
                let results = subs.enumerated().map { passes(instance, $0.element, instancePath, schemaPath + "/anyOf/\($0.offset)", depth) }
                if !results.contains(where: \.isEmpty) {
                    fail(instancePath, schemaPath + "/anyOf", "matches none of the anyOf schemas: " + Self.summary(results))
                }
            }
            if case .array(let subs) = keywords["oneOf"] {
                let results = subs.enumerated().map { passes(instance, $0.element, instancePath, schemaPath + "/oneOf/\($0.offset)", depth) }
                let matching = results.indices.filter { results[$0].isEmpty }
                if matching.isEmpty {
                    fail(instancePath, schemaPath + "/oneOf", "matches none of the oneOf schemas: " + Self.summary(results))
                } else if matching.count > 1 {
                    fail(instancePath, schemaPath + "/oneOf", "matches oneOf schemas \(matching), exactly one expected")
                }
            }
            if let sub = keywords["not"], passes(instance, sub, instancePath, schemaPath + "/not", depth).isEmpty {
                fail(instancePath, schemaPath + "/not", "matches the schema under not")
            }
        }
    }
}
