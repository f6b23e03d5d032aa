import Foundation
import Protocol

/// Checks observed responses against the spec: the operation exists for the
/// method and path, the status is documented for it, the content type is one
/// it documents, documented required headers are present (and every
/// documented header present matches its schema), and the body validates
/// against the response schema. Each answer is a list of problems (empty: conforms).
public struct OpenAPIConformance: Sendable {
    public let document: OpenAPIDocument

    public init(document: OpenAPIDocument) {
        self.document = document
    }

    public func problems(_ method: String, _ path: String, _ response: OpenAPIResponse) -> [String] {
        let request = "\(method.uppercased()) \(path)"
        guard let operation = document.operation(method, path) else { return ["\(request): no operation in the spec"] }
        guard let (key, written) = operation.response(for: response.status) else {
            return ["\(request): status \(response.status) is not documented for \(operation) (documented: \(operation.documentedStatuses.joined(separator: ", ")))"]
        }
        guard let (spec, pointer) = document.resolved(written, pointer: operation.pointer + "/responses/" + key) else {
            return ["\(request): the response \(key) of \(operation) has an unresolvable $ref"]
        }
        let context = "\(request) → \(response.status)"
        return headerProblems(spec, pointer, response).map { "\(context): \($0)" }
            + contentProblems(spec, pointer, response).map { "\(context): \($0)" }
    }

    /// Problems of one item of a streamed body (an SSE message's `data:`, an
    /// NDJSON line) against the `x-item-schema` of the response's media type.
    public func itemProblems(_ method: String, _ path: String, status: Int, mediaType: String, item: Data) -> [String] {
        let request = "\(method.uppercased()) \(path) → \(status) \(mediaType)"
        guard let operation = document.operation(method, path), let (key, written) = operation.response(for: status),
            let (spec, pointer) = document.resolved(written, pointer: operation.pointer + "/responses/" + key)
        else { return ["\(request): not documented"] }
        guard let media = spec["content"]?[mediaType], let itemSchema = media["x-item-schema"] else {
            return ["\(request): no x-item-schema for this media type"]
        }
        return validate(item, itemSchema, pointer + "/content/" + SchemaViolation.escape(mediaType) + "/x-item-schema")
            .map { "\(request): \($0)" }
    }

    /// Problems of a JSON body against a schema of the document (`#/components/schemas/NotFoundEnvelope`),
    /// for answers outside any documented path (an unknown route).
    public func bodyProblems(_ body: Data, ref: String) -> [String] {
        validate(body, .object(["$ref": .string(ref)]), "#")
    }

    // MARK: Parts

    func headerProblems(_ spec: JSONValue, _ pointer: String, _ response: OpenAPIResponse) -> [String] {
        guard case .object(let headers) = spec["headers"] else { return [] }
        var problems: [String] = []
        for (name, written) in headers.sorted(by: { $0.key < $1.key }) where name.lowercased() != "content-type" {
            guard let (header, headerPointer) = document.resolved(written, pointer: pointer + "/headers/" + name) else {
                problems.append("header \(name): unresolvable $ref")
                continue
            }
            let values = response.values(name)
            if values.isEmpty {
                if header["required"] == .bool(true) { problems.append("required header \(name) is missing") }
                continue
            }
            guard let schema = header["schema"] else { continue }
            for value in values {
                problems += document.validator.validate(.string(value), against: schema, schemaPath: headerPointer + "/schema")
                    .map { "header \(name): \(value): \($0.message)" }
            }
        }
        return problems
    }

    func contentProblems(_ spec: JSONValue, _ pointer: String, _ response: OpenAPIResponse) -> [String] {
        guard case .object(let content) = spec["content"], !content.isEmpty else {
            if let body = response.body, !body.isEmpty { return ["a body of \(body.count) bytes where the spec documents none"] }
            return []
        }
        guard let mediaType = response.mediaType else {
            return ["no Content-Type (documented: \(content.keys.sorted().joined(separator: ", ")))"]
        }
        guard let media = content.first(where: { $0.key.lowercased() == mediaType })?.value else {
            return ["Content-Type \(mediaType) is not documented (documented: \(content.keys.sorted().joined(separator: ", ")))"]
        }
        guard let body = response.body else { return [] }
        let mediaPointer = pointer + "/content/" + SchemaViolation.escape(mediaType)
        if mediaType == "application/json" || mediaType.hasSuffix("+json") {
            guard let schema = media["schema"] else { return [] }
            return validate(body, schema, mediaPointer + "/schema")
        }
        if let itemSchema = media["x-item-schema"], mediaType == "application/x-ndjson" {
            let lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
            return lines.enumerated().flatMap { index, line in
                validate(Data(line), itemSchema, mediaPointer + "/x-item-schema").map { "line \(index + 1): \($0)" }
            }
        }
        guard let text = String(data: body, encoding: .utf8) else { return ["the \(mediaType) body is not UTF-8"] }
        guard let schema = media["schema"] else { return [] }
        return document.validator.validate(.string(text), against: schema, schemaPath: mediaPointer + "/schema").map(\.description)
    }

    func validate(_ data: Data, _ schema: JSONValue, _ schemaPath: String) -> [String] {
        let value: JSONValue
        do {
            value = try JSONValue.parseJSON(data)
        } catch {
            return ["the body is not JSON: \(String(decoding: data.prefix(120), as: UTF8.self))"]
        }
        return document.validator.validate(value, against: schema, schemaPath: schemaPath).map(\.description)
    }
}
