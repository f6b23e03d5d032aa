/// An error of the Redis client, with a closed set of codes.
///
/// Compare errors by ``code`` (`error.code == .timeout`); the message is for
/// people and may change. A reply of the server that is an error (`-ERR …`)
/// becomes ``Code/serverError`` with the server's text in ``message``;
/// ``serverErrorPrefix`` gives its first word (`NOSCRIPT`, `WRONGTYPE`, …).
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. A struct with static members, not an enum, so that
    /// adding a code does not break callers that switch over codes.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connectionClosed = "connection_closed"
            case connectionFailed = "connection_failed"
            case notConnected = "not_connected"
            case timeout = "timeout"
            case protocolError = "protocol_error"
            case replyTooLarge = "reply_too_large"
            case serverError = "server_error"
            case authenticationFailed = "authentication_failed"
            case invalidURL = "invalid_url"
            case invalidConfiguration = "invalid_configuration"
            case unexpectedReply = "unexpected_reply"
            case shutDown = "shut_down"
            case cancelled = "cancelled"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The connection closed (or was closed) before the reply arrived.
        public static let connectionClosed = Code(.connectionClosed)
        /// Connecting (TCP, TLS or the handshake) failed.
        public static let connectionFailed = Code(.connectionFailed)
        /// No connection to Redis is up right now; the command was not sent.
        public static let notConnected = Code(.notConnected)
        /// Connecting or a reply took longer than allowed.
        public static let timeout = Code(.timeout)
        /// The server sent bytes that are not RESP2; the connection is closed.
        public static let protocolError = Code(.protocolError)
        /// A reply exceeded the configured limits; the connection is closed.
        public static let replyTooLarge = Code(.replyTooLarge)
        /// The server answered with an error reply.
        public static let serverError = Code(.serverError)
        /// `AUTH` was refused.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// A Redis URL could not be parsed.
        public static let invalidURL = Code(.invalidURL)
        /// A configuration value is out of range.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// A reply had a shape the client did not expect.
        public static let unexpectedReply = Code(.unexpectedReply)
        /// The client or subscriber is shutting down or has shut down.
        public static let shutDown = Code(.shutDown)
        /// The calling task was cancelled while it waited.
        public static let cancelled = Code(.cancelled)

        /// A stable label without associated values, usable as a metric label.
        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Whether trying again later may succeed: the server was unreachable or
    /// the connection broke, as opposed to a bad command or configuration.
    public var isTemporary: Bool {
        switch code {
        case .connectionClosed, .connectionFailed, .notConnected, .timeout, .shutDown: true
        case .serverError: serverErrorPrefix.map { Self.temporaryServerErrors.contains(String($0)) } ?? false
        default: false
        }
    }

    /// Server errors that say "not now" rather than "never": out of memory
    /// (`maxmemory` reached), still loading the data set after a restart, a
    /// script running too long, a replica that cannot take writes, a cluster
    /// slot moving. Retrying later may succeed.
    static let temporaryServerErrors: Set<String> = ["OOM", "LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"]

    /// The first word of a server error (`NOSCRIPT`, `WRONGTYPE`, `ERR`), or
    /// nil when this is not a ``Code/serverError``.
    public var serverErrorPrefix: Substring? {
        guard code == .serverError else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }

    public var description: String { "redis \(code): \(message)" }
}

extension RedisError {
    static func connectionClosed(_ message: String = "the connection to Redis closed") -> RedisError {
        RedisError(.connectionClosed, message)
    }
    static func notConnected(_ message: String = "no connection to Redis is up") -> RedisError {
        RedisError(.notConnected, message)
    }
    static func shutDown(_ message: String = "the Redis client has shut down") -> RedisError {
        RedisError(.shutDown, message)
    }
    static func cancelled(_ message: String = "the task was cancelled while waiting for Redis") -> RedisError {
        RedisError(.cancelled, message)
    }
    static func unexpectedReply(_ message: String) -> RedisError { RedisError(.unexpectedReply, message) }
    static func invalidURL(_ message: String) -> RedisError { RedisError(.invalidURL, message) }
}
