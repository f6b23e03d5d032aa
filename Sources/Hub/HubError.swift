import Protocol

/// An error of the real-time core, with a stable wire code. The Gateway maps
/// it to an HTTP status; nothing here knows about HTTP.
public struct HubError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: ErrorCode
    public let message: String
    /// Whether retrying later may succeed (a backend that is down).
    public let temporary: Bool

    public init(_ code: ErrorCode, _ message: String, temporary: Bool = false) {
        self.code = code
        self.message = message
        self.temporary = temporary
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func validation(_ message: String) -> HubError { HubError(.validationError, message) }
    public static func forbidden(_ message: String) -> HubError { HubError(.forbidden, message) }
    public static func notFound(_ message: String) -> HubError { HubError(.notFound, message) }
    public static func unavailable(_ message: String) -> HubError { HubError(.serviceUnavailable, message, temporary: true) }
}
