import Foundation
import Testing

@testable import Protocol

// Mirrors of the wire shapes of PROTOCOL.md, written from the document (field
// names spelled out, not derived from the types under test).
private struct WireWelcome: Decodable {
    let type: String
    let connection_id: String
    let user_id: String
    let tenant: String
    let heartbeat_interval_ms: Int
    let max_message_bytes: Int
    let expires_at: String?
}

private struct WireSubscribed: Decodable {
    struct Entry: Decodable {
        let topic: String
        let offset: String?
        let recovered: Bool?
        let resync: Bool?
    }
    struct Denied: Decodable {
        let topic: String
        let code: String
        let message: String
    }
    let type: String
    let id: String?
    let topics: [Entry]
    let denied: [Denied]?
}

private struct WireTopics: Decodable {
    let type: String
    let id: String?
    let topics: [String]
}

private struct WireSimple: Decodable {
    let type: String
    let id: String?
    let reason: String?
    let expires_at: String?
}

private struct WireError_: Decodable {
    struct Body: Decodable {
        let code: String
        let message: String
    }
    let type: String
    let id: String?
    let error: Body
}

@Suite("ServerMessage")
struct ServerMessageTests {
    static let expiry = utcDate(2026, 11, 22, 11, 0, 0)

    static let welcome = ServerMessage.Welcome(
        connectionID: "c_9f2", userID: "alice", tenant: "acme", heartbeatIntervalMS: 25000, maxMessageBytes: 65536,
        expiresAt: expiry)

    // MARK: - welcome

    @Test("welcome carries every field of PROTOCOL.md in snake_case")
    func welcome() throws {
        let bytes = ServerMessage.welcome(Self.welcome).encoded()
        #expect(
            try jsonKeys(bytes) == [
                "type", "connection_id", "user_id", "tenant", "heartbeat_interval_ms", "max_message_bytes", "expires_at",
            ])
        let wire = try decodeJSON(WireWelcome.self, bytes)
        #expect(wire.type == "welcome")
        #expect(wire.connection_id == "c_9f2")
        #expect(wire.user_id == "alice")
        #expect(wire.tenant == "acme")
        #expect(wire.heartbeat_interval_ms == 25000)
        #expect(wire.max_message_bytes == 65536)
        #expect(wire.expires_at == "2026-11-22T11:00:00.000Z")
        #expect(wire.expires_at.flatMap(Timestamp.parse) == Self.expiry)
    }

    @Test("welcome without expiry omits expires_at")
    func welcomeWithoutExpiry() throws {
        let message = ServerMessage.Welcome(
            connectionID: "c_1", userID: "svc", tenant: "acme", heartbeatIntervalMS: 1000, maxMessageBytes: 1024, expiresAt: nil)
        let bytes = ServerMessage.welcome(message).encoded()
        #expect(
            try jsonKeys(bytes) == ["type", "connection_id", "user_id", "tenant", "heartbeat_interval_ms", "max_message_bytes"])
        #expect(!utf8(bytes).contains("null"))
    }

    // MARK: - subscribed

    @Test("subscribed lists topics with offset/recovered/resync and denied topics with code and message")
    func subscribed() throws {
        let message = ServerMessage.subscribed(
            .init(
                id: "1",
                topics: [
                    .init(topic: "operation:op_456:progress", offset: "e1:21", recovered: true),
                    .init(topic: "application:app_9:status", offset: "e1:3", recovered: false, resync: true),
                    .init(topic: "resource:db-1:health", offset: nil),
                ],
                denied: [.init(topic: "application:app_123:status", code: .forbidden, message: "application:read is not granted")]
            ))
        let bytes = message.encoded()
        #expect(try jsonKeys(bytes) == ["type", "id", "topics", "denied"])

        let object = try jsonObject(bytes)
        let topics = try #require(object["topics"] as? [Any])
        #expect(try jsonKeys(topics[0]) == ["topic", "offset", "recovered"])
        #expect(try jsonKeys(topics[1]) == ["topic", "offset", "recovered", "resync"])
        #expect(try jsonKeys(topics[2]) == ["topic"], "nil offset/recovered/resync are omitted")
        let denied = try #require(object["denied"] as? [Any])
        #expect(try jsonKeys(denied[0]) == ["topic", "code", "message"])

        let wire = try decodeJSON(WireSubscribed.self, bytes)
        #expect(wire.type == "subscribed")
        #expect(wire.id == "1")
        #expect(wire.topics.map(\.topic) == ["operation:op_456:progress", "application:app_9:status", "resource:db-1:health"])
        #expect(wire.topics.map(\.offset) == ["e1:21", "e1:3", nil])
        #expect(wire.topics.map(\.recovered) == [true, false, nil])
        #expect(wire.topics.map(\.resync) == [nil, true, nil])
        #expect(wire.denied?.count == 1)
        #expect(wire.denied?.first?.topic == "application:app_123:status")
        #expect(wire.denied?.first?.code == "FORBIDDEN")
        #expect(wire.denied?.first?.message == "application:read is not granted")
    }

    @Test("subscribed without id omits it; no denied topic means an empty or absent list")
    func subscribedMinimal() throws {
        let bytes = ServerMessage.subscribed(.init(id: nil, topics: [.init(topic: "a:b", offset: nil)], denied: [])).encoded()
        let keys = try jsonKeys(bytes)
        #expect(!keys.contains("id"))
        let wire = try decodeJSON(WireSubscribed.self, bytes)
        #expect((wire.denied ?? []).isEmpty)
        #expect(wire.topics.count == 1)
    }

    // MARK: - unsubscribed

    @Test("unsubscribed carries id and topics")
    func unsubscribed() throws {
        let bytes = ServerMessage.unsubscribed(.init(id: "2", topics: ["application:app_123:status"])).encoded()
        #expect(try jsonKeys(bytes) == ["type", "id", "topics"])
        let wire = try decodeJSON(WireTopics.self, bytes)
        #expect(wire.type == "unsubscribed")
        #expect(wire.id == "2")
        #expect(wire.topics == ["application:app_123:status"])

        let noID = ServerMessage.unsubscribed(.init(id: nil, topics: [])).encoded()
        #expect(try jsonKeys(noID) == ["type", "topics"])
    }

    // MARK: - pong

    @Test("pong is {type, id}, or just {type} without id")
    func pong() throws {
        let bytes = ServerMessage.pong(id: "3").encoded()
        #expect(try jsonKeys(bytes) == ["type", "id"])
        let wire = try decodeJSON(WireSimple.self, bytes)
        #expect(wire.type == "pong")
        #expect(wire.id == "3")

        let bare = ServerMessage.pong(id: nil).encoded()
        #expect(try jsonKeys(bare) == ["type"])
        #expect(try decodeJSON(WireSimple.self, bare).type == "pong")
    }

    // MARK: - authenticated

    @Test("authenticated carries id and expires_at")
    func authenticated() throws {
        let bytes = ServerMessage.authenticated(.init(id: "4", expiresAt: Self.expiry)).encoded()
        #expect(try jsonKeys(bytes) == ["type", "id", "expires_at"])
        let wire = try decodeJSON(WireSimple.self, bytes)
        #expect(wire.type == "authenticated")
        #expect(wire.id == "4")
        #expect(wire.expires_at == "2026-11-22T11:00:00.000Z")

        let bare = ServerMessage.authenticated(.init(id: nil, expiresAt: nil)).encoded()
        #expect(try jsonKeys(bare) == ["type"])
    }

    // MARK: - error

    @Test("error carries id and {code, message}; no details key")
    func error() throws {
        let bytes = ServerMessage.error(.init(id: "1", code: .invalidTopic, message: "topic has an empty segment")).encoded()
        #expect(try jsonKeys(bytes) == ["type", "id", "error"])
        #expect(try jsonKeys(jsonObject(bytes)["error"]) == ["code", "message"])
        let wire = try decodeJSON(WireError_.self, bytes)
        #expect(wire.type == "error")
        #expect(wire.id == "1")
        #expect(wire.error.code == "INVALID_TOPIC")
        #expect(wire.error.message == "topic has an empty segment")

        let noID = ServerMessage.error(.init(id: nil, code: .unauthorized, message: "no")).encoded()
        #expect(try jsonKeys(noID) == ["type", "error"])
        #expect(try decodeJSON(WireError_.self, noID).error.code == "UNAUTHORIZED")
    }

    @Test("Strings in messages survive encoding; slashes are not escaped")
    func stringContent() throws {
        let text = "see /api/v1/status — \"quoted\" \\ tab\t newline\n é 日本 🚀 \u{1}"
        let bytes = ServerMessage.error(.init(id: "a/b", code: .internalError, message: text)).encoded()
        let wire = try decodeJSON(WireError_.self, bytes)
        #expect(wire.error.message == text)
        #expect(wire.id == "a/b")
        #expect(utf8(bytes).contains("/api/v1/status"))
        #expect(!utf8(bytes).contains("\\/"))
    }

    // MARK: - reconnect

    @Test("reconnect is exactly {type, reason}")
    func reconnect() throws {
        let bytes = ServerMessage.reconnect(reason: "server_shutdown").encoded()
        #expect(try jsonKeys(bytes) == ["type", "reason"])
        let wire = try decodeJSON(WireSimple.self, bytes)
        #expect(wire.type == "reconnect")
        #expect(wire.reason == "server_shutdown")
        #expect(wire.id == nil)
    }

    // MARK: - Every message

    static let all: [ServerMessage] = [
        .welcome(welcome),
        .subscribed(.init(id: "1", topics: [.init(topic: "a:b", offset: "e1:1", recovered: true)], denied: [])),
        .unsubscribed(.init(id: "2", topics: ["a:b"])),
        .pong(id: "3"),
        .authenticated(.init(id: "4", expiresAt: expiry)),
        .error(.init(id: "5", code: .rateLimited, message: "slow down")),
        .reconnect(reason: "server_shutdown"),
    ]

    @Test("Every message is one compact JSON object whose type names it", arguments: zip(all, [
        "welcome", "subscribed", "unsubscribed", "pong", "authenticated", "error", "reconnect",
    ]))
    func everyMessage(_ message: ServerMessage, _ type: String) throws {
        let bytes = message.encoded()
        #expect(try jsonObject(bytes)["type"] as? String == type)
        #expect(!bytes.contains(UInt8(ascii: "\n")), "one frame, one line")
        #expect(bytes.first == UInt8(ascii: "{"))
        #expect(bytes.last == UInt8(ascii: "}"))
    }

    // MARK: - Codable round trips of the payload types

    @Test("The message payloads decode back from their own encoding")
    func codableRoundTrips() throws {
        let welcome = Self.welcome
        #expect(try decodeJSON(ServerMessage.Welcome.self, ServerMessage.welcome(welcome).encoded()) == welcome)

        let subscribed = ServerMessage.Subscribed(
            id: "1", topics: [.init(topic: "a:b", offset: "e1:1", recovered: false, resync: true)],
            denied: [.init(topic: "c:d", code: .forbidden, message: "no")])
        #expect(try decodeJSON(ServerMessage.Subscribed.self, ServerMessage.subscribed(subscribed).encoded()) == subscribed)

        let unsubscribed = ServerMessage.Unsubscribed(id: "2", topics: ["a:b"])
        #expect(
            try decodeJSON(ServerMessage.Unsubscribed.self, ServerMessage.unsubscribed(unsubscribed).encoded()) == unsubscribed)

        let authenticated = ServerMessage.Authenticated(id: "4", expiresAt: Self.expiry)
        #expect(
            try decodeJSON(ServerMessage.Authenticated.self, ServerMessage.authenticated(authenticated).encoded())
                == authenticated)

        let error = ServerMessage.ErrorFrame(id: "5", code: .messageTooLarge, message: "too big")
        #expect(try decodeJSON(ServerMessage.ErrorFrame.self, ServerMessage.error(error).encoded()) == error)
    }

    @Test("Initialisers format dates as RFC 3339 UTC with milliseconds")
    func dateFormatting() {
        let date = Date(timeIntervalSince1970: 1_795_343_400.5)
        #expect(ServerMessage.Authenticated(id: nil, expiresAt: date).expiresAt == Timestamp.format(date))
        #expect(ServerMessage.Authenticated(id: nil, expiresAt: nil).expiresAt == nil)
        let welcome = ServerMessage.Welcome(
            connectionID: "c", userID: "u", tenant: "t", heartbeatIntervalMS: 1, maxMessageBytes: 1, expiresAt: date)
        #expect(welcome.expiresAt?.hasSuffix(".500Z") == true)
        #expect(welcome.type == "welcome")
    }

    @Test("A denied topic can be thrown as an error")
    func deniedTopicIsError() {
        let denied = ServerMessage.DeniedTopic(topic: "a:b", code: .forbidden, message: "no")
        #expect(throws: denied) { throw denied }
    }
}
