/// The closed set of error codes the hub puts on the wire, in REST envelopes
/// and in WebSocket `error` frames. Stable strings: clients switch on them and
/// metrics use them as labels.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    // Frame-level (WebSocket)
    public static let invalidJSON = ErrorCode(rawValue: "INVALID_JSON")
    public static let invalidMessage = ErrorCode(rawValue: "INVALID_MESSAGE")
    public static let unknownType = ErrorCode(rawValue: "UNKNOWN_TYPE")
    public static let invalidTopic = ErrorCode(rawValue: "INVALID_TOPIC")
    public static let tooManySubscriptions = ErrorCode(rawValue: "TOO_MANY_SUBSCRIPTIONS")
    public static let rateLimited = ErrorCode(rawValue: "RATE_LIMITED")
    public static let messageTooLarge = ErrorCode(rawValue: "MESSAGE_TOO_LARGE")
    public static let tokenExpired = ErrorCode(rawValue: "TOKEN_EXPIRED")

    // Shared and REST
    public static let unauthorized = ErrorCode(rawValue: "UNAUTHORIZED")
    public static let forbidden = ErrorCode(rawValue: "FORBIDDEN")
    public static let validationError = ErrorCode(rawValue: "VALIDATION_ERROR")
    public static let notFound = ErrorCode(rawValue: "NOT_FOUND")
    public static let methodNotAllowed = ErrorCode(rawValue: "METHOD_NOT_ALLOWED")
    public static let conflict = ErrorCode(rawValue: "CONFLICT")
    public static let invalidTransition = ErrorCode(rawValue: "INVALID_TRANSITION")
    public static let preconditionFailed = ErrorCode(rawValue: "PRECONDITION_FAILED")
    public static let payloadTooLarge = ErrorCode(rawValue: "PAYLOAD_TOO_LARGE")
    public static let unprocessable = ErrorCode(rawValue: "UNPROCESSABLE")
    public static let rateLimitExceeded = ErrorCode(rawValue: "RATE_LIMIT_EXCEEDED")
    public static let tooManyConnections = ErrorCode(rawValue: "TOO_MANY_CONNECTIONS")
    public static let internalError = ErrorCode(rawValue: "INTERNAL")
    public static let badGateway = ErrorCode(rawValue: "BAD_GATEWAY")
    public static let serviceUnavailable = ErrorCode(rawValue: "SERVICE_UNAVAILABLE")
    public static let gatewayTimeout = ErrorCode(rawValue: "GATEWAY_TIMEOUT")
}

/// An error as it is written on the wire: `{"code":…,"message":…,"details":…}`.
public struct WireError: Codable, Sendable, Hashable {
    public var code: ErrorCode
    public var message: String
    public var details: JSONValue?

    public init(code: ErrorCode, message: String, details: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.details = details
    }
}
