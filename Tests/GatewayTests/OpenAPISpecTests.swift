import Foundation
import HubTesting
import Protocol
import Testing

/// `Docs/openapi.yaml` itself: it loads, every `$ref` resolves, every schema
/// uses only what the validator checks, and the conventions of API.md hold
/// for every operation.
@Suite("OpenAPI spec")
struct OpenAPISpecTests {
    let spec: OpenAPIDocument

    init() throws {
        spec = try OpenAPIDocument.load()
    }

    @Test func isOpenAPI31WithOperations() {
        #expect(spec.root["openapi"]?.stringValue?.hasPrefix("3.1.") == true)
        #expect(spec.operations.count >= 20)
        let ids = spec.operations.compactMap(\.operationID)
        #expect(ids.count == spec.operations.count, "every operation has an operationId")
        #expect(Set(ids).count == ids.count, "operationIds are unique")
    }

    @Test func everyReferenceResolves() {
        var refs: [(String, String)] = []
        Self.walk(spec.root, "#") { value, path in
            if case .string(let ref) = value["$ref"] { refs.append((path, ref)) }
        }
        #expect(refs.count > 100)
        for (path, ref) in refs {
            #expect(spec.validator.resolve(ref) != nil, "\(path): \(ref)")
        }
    }

    @Test func everySchemaUsesOnlySupportedKeywords() {
        var checked = 0
        Self.walk(spec.root, "#") { value, path in
            guard case .object(let members) = value else { return }
            for key in ["schema", "x-item-schema"] {
                if let schema = members[key] {
                    checked += 1
                    let found = spec.validator.unsupportedKeywords(in: schema, at: path + "/" + key)
                    #expect(found.isEmpty, "\(found)")
                }
            }
        }
        if case .object(let schemas) = spec.root["components"]?["schemas"] {
            for (name, schema) in schemas {
                checked += 1
                let found = spec.validator.unsupportedKeywords(in: schema, at: "#/components/schemas/" + name)
                #expect(found.isEmpty, "\(found)")
            }
        }
        #expect(checked > 50)
    }

    /// API.md: every response carries `X-Request-ID`.
    @Test func everyResponseDocumentsARequiredRequestID() {
        for operation in spec.operations {
            for status in operation.documentedStatuses {
                let written = operation.response(for: Int(status) ?? 0)?.value ?? .null
                let response = spec.resolved(written, pointer: "")?.value
                let header = response?["headers"]?["X-Request-ID"].flatMap { spec.resolved($0, pointer: "")?.value }
                #expect(header?["required"] == .bool(true), "\(operation) \(status)")
            }
        }
    }

    /// A route that needs credentials documents 401 (except the WebSocket, which refuses in-band).
    @Test func everyAuthenticatedRouteDocuments401AndEveryRoute500OrUpgrade() {
        let global = spec.root["security"]
        for operation in spec.operations {
            let security = operation.definition["security"] ?? global
            let statuses = Set(operation.documentedStatuses)
            if statuses.contains("101") { continue }
            #expect(statuses.contains("500"), "\(operation)")
            if security != .array([]) { #expect(statuses.contains("401"), "\(operation)") }
        }
    }

    /// Every error response of a route is the error envelope whose code matches its status.
    @Test func errorResponsesUseTheEnvelopeOfTheirStatus() throws {
        let codes: [String: [String]] = [
            "400": ["VALIDATION_ERROR"], "401": ["UNAUTHORIZED"], "403": ["FORBIDDEN"], "404": ["NOT_FOUND"],
            "409": ["CONFLICT", "INVALID_TRANSITION"], "412": ["PRECONDITION_FAILED"], "413": ["PAYLOAD_TOO_LARGE"],
            "422": ["UNPROCESSABLE"], "429": ["TOO_MANY_CONNECTIONS"], "500": ["INTERNAL"], "503": ["SERVICE_UNAVAILABLE"],
        ]
        for operation in spec.operations {
            for status in operation.documentedStatuses where Int(status).map({ $0 >= 400 }) == true {
                let allowed = try #require(codes[status], "\(operation) \(status)")
                let response = try #require(spec.resolved(operation.response(for: Int(status)!)!.value, pointer: "")?.value)
                let schema = try #require(response["content"]?["application/json"]?["schema"], "\(operation) \(status)")
                for code in codes.values.flatMap({ $0 }) {
                    let body: JSONValue = [
                        "success": false, "error": ["code": .string(code), "message": "m"],
                        "meta": ["request_id": "req_1", "timestamp": "2026-11-22T10:30:00.000Z", "api_version": "v1"],
                    ]
                    let ok = spec.validator.validate(body, against: schema).isEmpty
                    #expect(ok == allowed.contains(code), "\(operation) \(status) with \(code)")
                }
            }
        }
    }

    /// Calls `visit` on every value of the tree with its JSON pointer.
    static func walk(_ value: JSONValue, _ path: String, _ visit: (JSONValue, String) -> Void) {
        visit(value, path)
        switch value {
        case .object(let members):
            for (key, child) in members { walk(child, path + "/" + key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1"), visit) }
        case .array(let items):
            for (index, child) in items.enumerated() { walk(child, path + "/\(index)", visit) }
        default:
            break
        }
    }
}
