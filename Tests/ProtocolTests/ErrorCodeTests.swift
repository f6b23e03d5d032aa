import Foundation
import Testing

@testable import Protocol

@Suite("ErrorCode")
struct ErrorCodeTests {
    @Test(
        "Error codes have the strings of PROTOCOL.md and API.md",
        arguments: [
            // WebSocket (PROTOCOL.md)
            (ErrorCode.invalidJSON, "INVALID_JSON"),
            (.invalidMessage, "INVALID_MESSAGE"),
            (.unknownType, "UNKNOWN_TYPE"),
            (.invalidTopic, "INVALID_TOPIC"),
            (.forbidden, "FORBIDDEN"),
            (.tooManySubscriptions, "TOO_MANY_SUBSCRIPTIONS"),
            (.rateLimited, "RATE_LIMITED"),
            (.messageTooLarge, "MESSAGE_TOO_LARGE"),
            (.tokenExpired, "TOKEN_EXPIRED"),
            (.unauthorized, "UNAUTHORIZED"),
            // REST (API.md)
            (.validationError, "VALIDATION_ERROR"),
            (.notFound, "NOT_FOUND"),
            (.conflict, "CONFLICT"),
            (.invalidTransition, "INVALID_TRANSITION"),
            (.preconditionFailed, "PRECONDITION_FAILED"),
            (.payloadTooLarge, "PAYLOAD_TOO_LARGE"),
            (.rateLimitExceeded, "RATE_LIMIT_EXCEEDED"),
            (.internalError, "INTERNAL"),
            (.badGateway, "BAD_GATEWAY"),
            (.serviceUnavailable, "SERVICE_UNAVAILABLE"),
            (.gatewayTimeout, "GATEWAY_TIMEOUT"),
        ])
    func strings(_ code: ErrorCode, _ text: String) {
        #expect(code.rawValue == text)
        #expect(code.description == text)
        #expect(ErrorCode(rawValue: text) == code)
    }

    @Test("Every code is distinct")
    func distinct() {
        let all: [ErrorCode] = [
            .invalidJSON, .invalidMessage, .unknownType, .invalidTopic, .tooManySubscriptions, .rateLimited, .messageTooLarge,
            .tokenExpired, .unauthorized, .forbidden, .validationError, .notFound, .methodNotAllowed, .conflict,
            .invalidTransition, .preconditionFailed, .payloadTooLarge, .unprocessable, .rateLimitExceeded, .tooManyConnections,
            .internalError, .badGateway, .serviceUnavailable, .gatewayTimeout,
        ]
        #expect(Set(all).count == all.count)
        #expect(Set(all.map(\.rawValue)).count == all.count)
    }

    @Test("An error code is written as a bare string")
    func codable() throws {
        let bytes = try encodeJSON([ErrorCode.forbidden, .invalidTopic])
        #expect(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String] == ["FORBIDDEN", "INVALID_TOPIC"])
        #expect(try decodeJSON([ErrorCode].self, bytes) == [.forbidden, .invalidTopic])
    }

    @Test("WireError is {code, message} plus details when given")
    func wireError() throws {
        let plain = try encodeJSON(WireError(code: .conflict, message: "busy"))
        #expect(try jsonKeys(plain) == ["code", "message"])
        #expect(try jsonObject(plain)["code"] as? String == "CONFLICT")
        #expect(try jsonObject(plain)["message"] as? String == "busy")

        let detailed = WireError(code: .validationError, message: "bad", details: ["field": "progress", "reason": "too big"])
        let bytes = try encodeJSON(detailed)
        #expect(try jsonKeys(bytes) == ["code", "message", "details"])
        #expect((try jsonObject(bytes)["details"] as? [String: Any])?["field"] as? String == "progress")
        #expect(try decodeJSON(WireError.self, bytes) == detailed)
    }
}
