import Foundation
import Hummingbird
import Protocol

/// Builds enveloped JSON responses.
enum JSONResponse {
    static func ok<T: Encodable & Sendable>(
        _ data: T, context: HubRequestContext, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:],
        pagination: Pagination? = nil
    ) -> Response {
        let envelope = Envelope.ok(data, meta: Meta(requestID: context.requestID), pagination: pagination)
        return encode(envelope, status: status, headers: headers)
    }

    /// `ok` with `data` already encoded (``encoded(_:)``): the same bytes as
    /// encoding the envelope whole, without encoding the payload again.
    static func ok(
        json data: [UInt8], context: HubRequestContext, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]
    ) -> Response {
        response(envelope(json: data, requestID: context.requestID), status: status, headers: headers)
    }

    static func error(_ error: APIError, requestID: String) -> Response {
        response(errorEnvelope(error, requestID: requestID), status: error.status, headers: error.headers)
    }

    static func encode<T: Encodable>(_ value: T, status: HTTPResponse.Status, headers: HTTPFields) -> Response {
        response(ByteBuffer(bytes: encoded(value, or: #"{"success":false}"#)), status: status, headers: headers)
    }

    /// The body of a successful envelope around `data`'s JSON.
    static func envelope(json data: [UInt8], requestID: String) -> ByteBuffer {
        let meta = encoded(Meta(requestID: requestID))
        var body = ByteBuffer()
        body.reserveCapacity(data.count + meta.count + 32)
        body.writeString(#"{"success":true,"data":"#)
        body.writeBytes(data)
        body.writeString(#","meta":"#)
        body.writeBytes(meta)
        body.writeString("}")
        return body
    }

    /// The body of an error envelope.
    static func errorEnvelope(_ error: APIError, requestID: String) -> ByteBuffer {
        let envelope = Envelope<Empty>.failure(
            WireError(code: error.code, message: error.message, details: error.details), meta: Meta(requestID: requestID))
        return ByteBuffer(bytes: encoded(envelope, or: #"{"success":false}"#))
    }

    /// A value's JSON, as the envelope encodes it (`fallback` if it cannot be encoded).
    static func encoded<T: Encodable>(_ value: T, or fallback: String = "null") -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? Array(encoder.encode(value))) ?? Array(fallback.utf8)
    }

    private static func response(_ body: ByteBuffer, status: HTTPResponse.Status, headers: HTTPFields) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: body))
    }
}

/// Reads a JSON request body with the configured size limit (413 beyond).
enum JSONBody {
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw APIError(.payloadTooLarge, "request body is larger than \(limit) bytes")
        }
        guard buffer.readableBytes > 0 else { throw APIError(.validationError, "request body is empty") }
        do {
            return try JSONValueDecoder().decode(T.self, from: buffer.readableBytesView)
        } catch let error as DecodingError {
            throw APIError(.validationError, DecodingErrorDescription.describe(error))
        }
    }
}
