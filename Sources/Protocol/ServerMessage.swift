import Foundation

/// A message the server sends over the WebSocket. Control messages are
/// encoded with `JSONEncoder`; event and snapshot frames, which are written
/// once per event and shared by every subscriber, with `EventFrame`.
public enum ServerMessage: Sendable, Equatable {
    case welcome(Welcome)
    case subscribed(Subscribed)
    case unsubscribed(Unsubscribed)
    case pong(id: String?)
    case authenticated(Authenticated)
    case error(ErrorFrame)
    case reconnect(reason: String)

    public struct Welcome: Codable, Sendable, Equatable {
        public var type = "welcome"
        public var connectionID: String
        public var userID: String
        public var tenant: String
        public var heartbeatIntervalMS: Int
        public var maxMessageBytes: Int
        public var expiresAt: String?

        public init(
            connectionID: String, userID: String, tenant: String, heartbeatIntervalMS: Int, maxMessageBytes: Int,
            expiresAt: Date?
        ) {
            self.connectionID = connectionID
            self.userID = userID
            self.tenant = tenant
            self.heartbeatIntervalMS = heartbeatIntervalMS
            self.maxMessageBytes = maxMessageBytes
            self.expiresAt = expiresAt.map(Timestamp.format)
        }

        enum CodingKeys: String, CodingKey {
            case type
            case connectionID = "connection_id"
            case userID = "user_id"
            case tenant
            case heartbeatIntervalMS = "heartbeat_interval_ms"
            case maxMessageBytes = "max_message_bytes"
            case expiresAt = "expires_at"
        }
    }

    public struct Subscribed: Codable, Sendable, Equatable {
        public var type = "subscribed"
        public var id: String?
        public var topics: [SubscribedTopic]
        public var denied: [DeniedTopic]

        public init(id: String?, topics: [SubscribedTopic], denied: [DeniedTopic]) {
            self.id = id
            self.topics = topics
            self.denied = denied
        }
    }

    public struct SubscribedTopic: Codable, Sendable, Equatable {
        public var topic: String
        /// The topic's latest offset when the subscription took effect (nil: no event yet).
        public var offset: String?
        /// Present when `since` was given: whether every missed event was delivered.
        public var recovered: Bool?
        /// True when the events after `since` are not all available.
        public var resync: Bool?

        public init(topic: String, offset: String?, recovered: Bool? = nil, resync: Bool? = nil) {
            self.topic = topic
            self.offset = offset
            self.recovered = recovered
            self.resync = resync
        }
    }

    public struct DeniedTopic: Codable, Sendable, Equatable {
        public var topic: String
        public var code: ErrorCode
        public var message: String

        public init(topic: String, code: ErrorCode, message: String) {
            self.topic = topic
            self.code = code
            self.message = message
        }
    }

    public struct Unsubscribed: Codable, Sendable, Equatable {
        public var type = "unsubscribed"
        public var id: String?
        public var topics: [String]

        public init(id: String?, topics: [String]) {
            self.id = id
            self.topics = topics
        }
    }

    public struct Authenticated: Codable, Sendable, Equatable {
        public var type = "authenticated"
        public var id: String?
        public var expiresAt: String?

        public init(id: String?, expiresAt: Date?) {
            self.id = id
            self.expiresAt = expiresAt.map(Timestamp.format)
        }

        enum CodingKeys: String, CodingKey {
            case type, id
            case expiresAt = "expires_at"
        }
    }

    public struct ErrorFrame: Codable, Sendable, Equatable {
        public var type = "error"
        public var id: String?
        public var error: WireError

        public init(id: String?, code: ErrorCode, message: String) {
            self.id = id
            self.error = WireError(code: code, message: message)
        }
    }

    private struct Simple: Encodable {
        var type: String
        var id: String?
        var reason: String?
    }

    /// The JSON text of this message.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data: Data?
        switch self {
        case .welcome(let m): data = try? encoder.encode(m)
        case .subscribed(let m): data = try? encoder.encode(m)
        case .unsubscribed(let m): data = try? encoder.encode(m)
        case .pong(let id): data = try? encoder.encode(Simple(type: "pong", id: id))
        case .authenticated(let m): data = try? encoder.encode(m)
        case .error(let m): data = try? encoder.encode(m)
        case .reconnect(let reason): data = try? encoder.encode(Simple(type: "reconnect", reason: reason))
        }
        // Encoding these plain structs cannot fail; an empty object is never sent in practice.
        return data.map { Array($0) } ?? Array("{}".utf8)
    }
}

/// A denied topic is also the error value of resolving a topic.
extension ServerMessage.DeniedTopic: Error {}
