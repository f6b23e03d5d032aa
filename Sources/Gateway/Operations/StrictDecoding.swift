import Foundation
import Hummingbird
import Protocol

/// A request body field the route does not know: refused, so a typo
/// (`"progres": 50`) is an error rather than silently ignored.
struct UnknownFieldError: Error {
    var path: String
}

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

extension Decoder {
    /// Throws `UnknownFieldError` when the object being decoded has a key outside `Keys`.
    func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws {
        let known = Set(Keys.allCases.map(\.stringValue))
        let container = try container(keyedBy: AnyCodingKey.self)
        if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            let parent = codingPath.map(\.stringValue).joined(separator: ".")
            throw UnknownFieldError(path: parent.isEmpty ? unknown : parent + "." + unknown)
        }
    }
}

/// Reads the JSON body of an operations route: size limit (413), valid JSON,
/// the expected shape and types, no unknown fields (400), all as the envelope.
enum OperationRequestBody {
    struct Decoded<T: Sendable>: Sendable {
        var value: T
        /// The body in canonical form (sorted keys, compact): the idempotency fingerprint.
        var canonical: String
    }

    static func read(_ request: Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch {
            throw APIError(.payloadTooLarge, "request body is larger than \(limit) bytes", details: ["limit": .number(Double(limit))])
        }
    }

    static func decode<T: Decodable & Sendable>(_ type: T.Type, from request: Request, limit: Int) async throws -> Decoded<T> {
        let buffer = try await read(request, limit: limit)
        guard buffer.readableBytes > 0 else { throw APIError(.validationError, "request body is empty") }
        let json: JSONValue
        do {
            json = try JSONParser.parse(buffer.readableBytesView)
        } catch {
            throw APIError(.validationError, "body is not valid JSON", details: ["reason": "invalid_json"])
        }
        guard json.isObject else { throw APIError(.validationError, "body must be a JSON object", details: ["reason": "not_an_object"]) }
        do {
            let value = try JSONValueDecoder().decode(T.self, from: json)
            var writer = JSONWriter()
            writer.value(json)
            return Decoded(value: value, canonical: String(decoding: writer.bytes, as: UTF8.self))
        } catch let error as UnknownFieldError {
            throw APIError(.validationError, "unknown field '\(error.path)'", details: ["field": .string(error.path), "reason": "unknown_field"])
        } catch let error as DecodingError {
            throw APIError(.validationError, DecodingErrorDescription.describe(error), details: fieldDetails(error))
        } catch let error as APIError {
            throw error
        }
    }

    static func fieldDetails(_ error: DecodingError) -> JSONValue? {
        let path: [any CodingKey]
        var extra: String?
        switch error {
        case .keyNotFound(let key, let context):
            path = context.codingPath + [key]
            extra = "required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            path = context.codingPath
            extra = "wrong_type"
        case .dataCorrupted(let context):
            path = context.codingPath
            extra = "invalid"
        @unknown default:
            return nil
        }
        let field = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        guard !field.isEmpty else { return nil }
        return .object(["field": .string(field.replacingOccurrences(of: ".[", with: "[")), "reason": .string(extra ?? "invalid")])
    }
}
