import Foundation

/// A message a client sends over the WebSocket.
public enum ClientMessage: Sendable, Equatable {
    case subscribe(Subscribe)
    case unsubscribe(Unsubscribe)
    case ping(id: String?)
    case auth(Auth)

    public static let maxIDBytes = 64

    public struct Subscribe: Sendable, Equatable {
        public var id: String?
        /// Topics as the client wrote them; each is validated on its own so
        /// that one bad topic is denied without refusing the others.
        public var topics: [String]
        /// Per topic: deliver every event after this offset first.
        public var since: [String: String]
        public var snapshot: Bool

        public init(id: String? = nil, topics: [String], since: [String: String] = [:], snapshot: Bool = false) {
            self.id = id
            self.topics = topics
            self.since = since
            self.snapshot = snapshot
        }
    }

    public struct Unsubscribe: Sendable, Equatable {
        public var id: String?
        public var topics: [String]

        public init(id: String? = nil, topics: [String]) {
            self.id = id
            self.topics = topics
        }
    }

    public struct Auth: Sendable, Equatable {
        public var id: String?
        public var token: String

        public init(id: String? = nil, token: String) {
            self.id = id
            self.token = token
        }
    }

    public var id: String? {
        switch self {
        case .subscribe(let m): m.id
        case .unsubscribe(let m): m.id
        case .ping(let id): id
        case .auth(let m): m.id
        }
    }
}

/// Why a client frame could not be read. Carries the `id` when it could be
/// read, so the error frame can answer it.
public struct ClientMessageError: Error, Sendable, Equatable {
    public var code: ErrorCode
    public var message: String
    public var id: String?

    public init(code: ErrorCode, message: String, id: String? = nil) {
        self.code = code
        self.message = message
        self.id = id
    }
}

extension ClientMessage {
    /// The loose shape every client message is read into first, so that the
    /// `id` survives a later validation error.
    private struct Raw: Decodable {
        var type: String?
        var id: String?
        var topics: [String]?
        var since: [String: String]?
        var snapshot: Bool?
        var token: String?
        /// The first field (after `id`) that had the wrong type.
        var problem: DecodingError?

        enum CodingKeys: String, CodingKey {
            case type, id, topics, since, snapshot, token
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            // The id first: a wrong type elsewhere must still be answered with it.
            id = try container.decodeIfPresent(String.self, forKey: .id)
            do {
                type = try container.decodeIfPresent(String.self, forKey: .type)
                topics = try container.decodeIfPresent([String].self, forKey: .topics)
                since = try container.decodeIfPresent([String: String].self, forKey: .since)
                snapshot = try container.decodeIfPresent(Bool.self, forKey: .snapshot)
                token = try container.decodeIfPresent(String.self, forKey: .token)
            } catch let error as DecodingError {
                problem = error
            }
        }
    }

    /// Decodes one text frame.
    public static func decode(_ bytes: some Collection<UInt8>) throws(ClientMessageError) -> ClientMessage {
        let tree: JSONValue
        do {
            tree = try JSONParser.parse(bytes)
        } catch {
            throw ClientMessageError(code: .invalidJSON, message: "frame is not valid JSON")
        }
        let raw: Raw
        do {
            raw = try JSONValueDecoder().decode(Raw.self, from: tree)
        } catch let error as DecodingError {
            throw Self.classify(error)
        } catch {
            throw ClientMessageError(code: .invalidMessage, message: "frame has the wrong shape")
        }
        let id = raw.id
        if let id, id.utf8.count > maxIDBytes {
            throw ClientMessageError(code: .invalidMessage, message: "id is longer than \(maxIDBytes) bytes")
        }
        if let problem = raw.problem {
            var error = Self.classify(problem)
            error.id = id
            throw error
        }
        guard let type = raw.type else {
            throw ClientMessageError(code: .invalidMessage, message: "message has no type", id: id)
        }
        switch type {
        case "subscribe":
            guard let topics = raw.topics, !topics.isEmpty else {
                throw ClientMessageError(code: .invalidMessage, message: "subscribe needs a non-empty topics array", id: id)
            }
            return .subscribe(Subscribe(id: id, topics: topics, since: raw.since ?? [:], snapshot: raw.snapshot ?? false))
        case "unsubscribe":
            guard let topics = raw.topics, !topics.isEmpty else {
                throw ClientMessageError(code: .invalidMessage, message: "unsubscribe needs a non-empty topics array", id: id)
            }
            return .unsubscribe(Unsubscribe(id: id, topics: topics))
        case "ping":
            return .ping(id: id)
        case "auth":
            guard let token = raw.token, !token.isEmpty else {
                throw ClientMessageError(code: .invalidMessage, message: "auth needs a token", id: id)
            }
            return .auth(Auth(id: id, token: token))
        default:
            throw ClientMessageError(code: .unknownType, message: "unknown message type", id: id)
        }
    }

    private static func classify(_ error: DecodingError) -> ClientMessageError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return ClientMessageError(code: .invalidJSON, message: "frame is not valid JSON")
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            let message = path.isEmpty ? "frame must be a JSON object" : "field '\(path)' has the wrong type"
            return ClientMessageError(code: .invalidMessage, message: message)
        @unknown default:
            return ClientMessageError(code: .invalidMessage, message: "frame has the wrong shape")
        }
    }
}
