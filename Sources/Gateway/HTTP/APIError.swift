import Hub
import Hummingbird
import Protocol

/// An error answered with the REST envelope: a wire code and its HTTP status.
public struct APIError: Error, Sendable {
    public var code: ErrorCode
    public var message: String
    public var details: JSONValue?
    public var headers: HTTPFields

    public init(_ code: ErrorCode, _ message: String, details: JSONValue? = nil, headers: HTTPFields = [:]) {
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    public var status: HTTPResponse.Status { code.httpStatus }

    /// Any error as an `APIError`; unknown errors become an opaque 500.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as HubError: return APIError(error.code, error.message)
        case let error as HTTPError:
            let code: ErrorCode = switch error.status.code {
            case 400: .validationError
            case 401: .unauthorized
            case 403: .forbidden
            case 404: .notFound
            case 405: .methodNotAllowed
            case 413: .payloadTooLarge
            case 429: .rateLimitExceeded
            case 503: .serviceUnavailable
            default: error.status.code >= 500 ? .internalError : .validationError
            }
            let message = error.body ?? (code == .notFound ? "no such route" : error.status.reasonPhrase)
            return APIError(code, message)
        case let error as DecodingError:
            return APIError(.validationError, DecodingErrorDescription.describe(error))
        default:
            return APIError(.internalError, "internal error")
        }
    }
}

extension ErrorCode {
    /// The HTTP status of each wire code (API.md).
    public var httpStatus: HTTPResponse.Status {
        switch self {
        case .validationError, .invalidJSON, .invalidMessage, .invalidTopic, .unknownType: .badRequest
        case .unauthorized, .tokenExpired: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .conflict, .invalidTransition: .conflict
        case .preconditionFailed: .preconditionFailed
        case .payloadTooLarge, .messageTooLarge: .contentTooLarge
        case .unprocessable: .unprocessableContent
        case .rateLimitExceeded, .rateLimited, .tooManyConnections, .tooManySubscriptions: .tooManyRequests
        case .badGateway: .badGateway
        case .serviceUnavailable: .serviceUnavailable
        case .gatewayTimeout: .gatewayTimeout
        default: .internalServerError
        }
    }
}

enum DecodingErrorDescription {
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty: return "body is not valid JSON"
        case .dataCorrupted(let context): return "field '\(path(context))' is invalid: \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "field '\(parent.isEmpty ? key.stringValue : parent + "." + key.stringValue)' is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let where_ = path(context)
            return where_.isEmpty ? "body has the wrong shape" : "field '\(where_)' has the wrong type"
        @unknown default: return "body has the wrong shape"
        }
    }
}
