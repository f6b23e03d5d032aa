/// WebSocket close codes the hub uses, with what a client should do about each.
///
/// 1000–1015 are RFC 6455 codes; 4000–4999 are the hub's own. Codes marked
/// `reconnect` mean "connect again (to any node) and resume from your offsets";
/// the others mean "fix something first" (get a new token, send less).
public struct CloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Normal closure.
    public static let normal = CloseCode(rawValue: 1000)
    /// A frame over `max_message_bytes`.
    public static let messageTooBig = CloseCode(rawValue: 1009)
    /// An unexpected server error.
    public static let serverError = CloseCode(rawValue: 1011)
    /// The server is restarting (after a `reconnect` frame): reconnect elsewhere.
    public static let serviceRestart = CloseCode(rawValue: 1012)
    /// Credentials missing, invalid, expired or revoked: get a new token.
    public static let unauthorized = CloseCode(rawValue: 4001)
    /// An `auth` message changed `sub` or `tenant`.
    public static let identityChanged = CloseCode(rawValue: 4003)
    /// The connection's send queue was full: reconnect and resume from offsets.
    public static let slowConsumer = CloseCode(rawValue: 4008)
    /// Too many invalid or rate-limited frames, or over the per-user connection limit.
    public static let policyViolation = CloseCode(rawValue: 4029)

    /// Whether a client should reconnect (and resume) right away.
    public var reconnect: Bool {
        switch self {
        case .serverError, .serviceRestart, .slowConsumer: true
        default: false
        }
    }

    public var description: String { String(rawValue) }
}
