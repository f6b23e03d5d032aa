import Foundation
import Testing

@testable import Protocol

/// The event frame of PROTOCOL.md, as a client reads it.
private struct WireEvent: Decodable {
    let type: String
    let topic: String
    let event: String
    let offset: String
    let timestamp: String
    let data: JSONValue
}

private func makeEvent(
    topic: String = "operation:op_456:progress", event: String = "progress_updated",
    offset: Offset = Offset(epoch: "e1", major: 22), timestamp: Date = utcDate(2026, 11, 22, 10, 30, 0),
    data: JSONValue = [:], tenant: String = "acme", teamID: String? = "frontend"
) throws -> Event {
    Event(tenant: tenant, topic: try Topic(topic), event: event, offset: offset, timestamp: timestamp, data: data, teamID: teamID)
}

@Suite("EventFrame")
struct EventFrameTests {
    static let progressData: JSONValue = [
        "operation_id": "op_456", "progress": 75, "current_stage": "configuring_database",
        "message": "Setting up database connections…",
    ]

    @Test("The event frame is a JSON object with exactly type, topic, event, offset, timestamp and data")
    func eventFrame() throws {
        let event = try makeEvent(data: Self.progressData)
        let bytes = EventFrame.event(event)
        #expect(try jsonKeys(bytes) == ["type", "topic", "event", "offset", "timestamp", "data"])

        let wire = try decodeJSON(WireEvent.self, bytes)
        #expect(wire.type == "event")
        #expect(wire.topic == "operation:op_456:progress")
        #expect(wire.event == "progress_updated")
        #expect(wire.offset == "e1:22")
        #expect(wire.timestamp == "2026-11-22T10:30:00.000Z")
        #expect(Timestamp.parse(wire.timestamp) == event.timestamp)
        #expect(wire.data == Self.progressData)

        let object = try jsonObject(bytes)
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["operation_id"] as? String == "op_456")
        #expect((data["progress"] as? NSNumber)?.intValue == 75)
        #expect(data["message"] as? String == "Setting up database connections…")
    }

    @Test("tenant and team_id are internal and never written to clients")
    func internalFieldsHidden() throws {
        let bytes = EventFrame.event(try makeEvent(tenant: "secret-tenant", teamID: "secret-team"))
        #expect(!utf8(bytes).contains("secret-tenant"))
        #expect(!utf8(bytes).contains("secret-team"))
        #expect(!utf8(bytes).contains("tenant"))
        #expect(!utf8(bytes).contains("team"))
    }

    @Test("The Redis offset form is written as is")
    func redisOffset() throws {
        let offset = Offset(epoch: "r1", major: 1_700_000_000_000, minor: 3)
        let wire = try decodeJSON(WireEvent.self, EventFrame.event(try makeEvent(offset: offset)))
        #expect(wire.offset == "r1:1700000000000-3")
        #expect(Offset(wire.offset) == offset)
    }

    @Test("The snapshot frame has the same body with type snapshot")
    func snapshot() throws {
        let event = try makeEvent(topic: "application:app_123:status", event: "status_changed", data: ["status": "running"])
        let bytes = EventFrame.snapshot(event)
        #expect(try jsonKeys(bytes) == ["type", "topic", "event", "offset", "timestamp", "data"])
        let wire = try decodeJSON(WireEvent.self, bytes)
        #expect(wire.type == "snapshot")
        #expect(wire.topic == "application:app_123:status")
        #expect(wire.event == "status_changed")
        #expect(wire.data == ["status": "running"])

        let asEvent = try decodeJSON(WireEvent.self, EventFrame.event(event))
        #expect(asEvent.type == "event")
        #expect(asEvent.offset == wire.offset && asEvent.timestamp == wire.timestamp && asEvent.data == wire.data)
    }

    @Test("encode(type:) is what event() and snapshot() write")
    func encodeWithType() throws {
        let event = try makeEvent(data: Self.progressData)
        #expect(EventFrame.encode(event, type: "event") == EventFrame.event(event))
        #expect(EventFrame.encode(event, type: "snapshot") == EventFrame.snapshot(event))
        #expect(EventFrame.event(event) != EventFrame.snapshot(event))
    }

    @Test("Equal events give equal bytes, whatever order their data was built in")
    func deterministic() throws {
        var forward: [String: JSONValue] = [:]
        var backward: [String: JSONValue] = [:]
        backward.reserveCapacity(512)
        let keys = (0..<40).map { "k\($0)" }
        for key in keys { forward[key] = .string(key) }
        for key in keys.reversed() { backward[key] = .string(key) }
        let a = try makeEvent(data: .object(forward))
        let b = try makeEvent(data: .object(backward))
        #expect(a == b)
        #expect(EventFrame.event(a) == EventFrame.event(b))
    }

    // MARK: - Escaping

    static let specialStrings: [String] = [
        "quote \" inside",
        "backslash \\ inside",
        "both \\\" and \"\\",
        "newline\nreturn\rtab\t",
        "nul \u{0} bell \u{7} backspace \u{8} formfeed \u{C} esc \u{1B} unit \u{1F}",
        "del \u{7F}",
        "é日本🚀 ∑ \u{2028}\u{2029}",
        "</script><script>alert(1)</script>",
        "",
        "{\"type\":\"event\"}",
    ]

    @Test("Special characters in data strings and keys are escaped; the frame stays valid JSON", arguments: specialStrings)
    func escaping(_ text: String) throws {
        let data: JSONValue = ["message": .string(text), "key \(text)": .array([.string(text)])]
        let bytes = EventFrame.event(try makeEvent(data: data))
        let wire = try decodeJSON(WireEvent.self, bytes)
        #expect(wire.data == data)
        #expect(wire.data["message"]?.stringValue == text)
        #expect(!bytes.contains { $0 < 0x20 }, "control characters are never written raw")
        let object = try jsonObject(bytes)
        #expect((object["data"] as? [String: Any])?["message"] as? String == text)
    }

    @Test("Non-ASCII text is written as UTF-8, not as \\u escapes")
    func unicodeKept() throws {
        let text = "é日本🚀"
        let bytes = EventFrame.event(try makeEvent(data: ["m": .string(text)]))
        #expect(utf8(bytes).contains("\"m\":\"\(text)\""))
    }

    @Test("An event name with JSON metacharacters is escaped")
    func eventNameEscaped() throws {
        // Event names are validated elsewhere; the frame must stay valid JSON regardless.
        let bytes = EventFrame.event(try makeEvent(event: "a\"b\\c\n"))
        #expect(try decodeJSON(WireEvent.self, bytes).event == "a\"b\\c\n")
    }

    // MARK: - user:notifications

    @Test("A user's notification topic is displayed as user:notifications")
    func notificationsDisplayed() throws {
        let bytes = EventFrame.event(try makeEvent(topic: "user:bob:notifications", event: "mentioned"))
        let wire = try decodeJSON(WireEvent.self, bytes)
        #expect(wire.topic == "user:notifications")
        #expect(!utf8(bytes).contains("bob"))
        #expect(try decodeJSON(WireEvent.self, EventFrame.snapshot(try makeEvent(topic: "user:bob:notifications"))).topic
            == "user:notifications")
    }

    @Test(
        "ClientTopic.display: only user:{sub}:notifications changes",
        arguments: [
            ("user:bob:notifications", "user:notifications"),
            ("user:alice-1.x_y:notifications", "user:notifications"),
            ("user:notifications", "user:notifications"),
            ("user:bob:settings", "user:bob:settings"),
            ("users:bob:notifications", "users:bob:notifications"),
            ("user:bob:notifications2", "user:bob:notifications2"),
            ("user:a:b:notifications", "user:a:b:notifications"),
            ("user", "user"),
            ("application:app_123:status", "application:app_123:status"),
            ("operation:*:progress", "operation:*:progress"),
        ])
    func display(_ internalName: String, _ shown: String) throws {
        #expect(ClientTopic.display(try Topic(internalName)) == shown)
    }

    @Test("ClientTopic.resolve maps user:notifications to the caller's own topic")
    func resolveNotifications() throws {
        let topic = try ClientTopic.resolve(Topic("user:notifications"), subject: "bob")
        #expect(topic.rawValue == "user:bob:notifications")
        #expect(try ClientTopic.resolve(Topic("user:notifications"), subject: "alice").rawValue == "user:alice:notifications")
        #expect(ClientTopic.notifications == "user:notifications")
    }

    @Test(
        "ClientTopic.resolve leaves every other topic unchanged",
        arguments: [
            "application:app_123:status", "operation:*:progress", "user", "user:bob:notifications", "user:alice:notifications",
            "resource:db-1:health",
        ])
    func resolveOthersUnchanged(_ text: String) throws {
        let topic = try Topic(text)
        #expect(try ClientTopic.resolve(topic, subject: "bob") == topic)
    }

    @Test("ClientTopic.resolve and display are inverse for valid subjects", arguments: ["bob", "u-1", "a.b_c", repeated("s", 128)])
    func resolveDisplayRoundTrip(_ subject: String) throws {
        let resolved = try ClientTopic.resolve(Topic(ClientTopic.notifications), subject: subject)
        #expect(resolved.segments.count == 3)
        #expect(resolved.segments[1] == subject[...])
        #expect(!resolved.isPattern)
        #expect(ClientTopic.display(resolved) == ClientTopic.notifications)
    }

    @Test(
        "ClientTopic.resolve refuses subjects that do not make a valid segment",
        arguments: ["", "bo b", "a/b", "ünï", "auth0|123", repeated("s", 129)])
    func resolveInvalidSubject(_ subject: String) throws {
        #expect(throws: TopicError.self) { try ClientTopic.resolve(Topic(ClientTopic.notifications), subject: subject) }
    }

    @Test(
        "ClientTopic.resolve never yields a pattern or another user's shape",
        arguments: ["*", "a:*", "a:b", "*:x"])
    func resolveWildcardOrColonSubject(_ subject: String) throws {
        // A subject "*" would turn the caller's own notifications into the
        // pattern user:*:notifications (every user's notifications); a subject
        // with ':' gives a topic with more segments that display() does not map
        // back. Such a subject is refused.
        #expect(throws: TopicError.self) { try ClientTopic.resolve(Topic(ClientTopic.notifications), subject: subject) }
    }
}
