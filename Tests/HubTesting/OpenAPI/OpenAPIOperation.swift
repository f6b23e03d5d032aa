import Protocol

/// One operation of the spec: a method on a path template, with its definition.
public struct OpenAPIOperation: Sendable, CustomStringConvertible {
    /// Uppercased (`GET`).
    public let method: String
    public let path: PathTemplate
    /// The operation object as written in the spec.
    public let definition: JSONValue

    public var description: String { "\(method) \(path.template)" }

    public var operationID: String? { definition["operationId"]?.stringValue }

    /// The response object written for `status` (exact code, then `2XX`-style range, then `default`), unresolved.
    public func response(for status: Int) -> (key: String, value: JSONValue)? {
        guard case .object(let responses) = definition["responses"] else { return nil }
        let code = String(status)
        for key in [code, String(code.prefix(1)) + "XX", "default"] {
            if let value = responses[key] { return (key, value) }
        }
        return nil
    }

    /// The status codes the spec documents, sorted.
    public var documentedStatuses: [String] {
        guard case .object(let responses) = definition["responses"] else { return [] }
        return responses.keys.sorted()
    }

    /// Where this operation sits in the document, as a JSON pointer.
    public var pointer: String {
        "#/paths/" + SchemaViolation.escape(path.template) + "/" + method.lowercased()
    }
}
