import Foundation

/// One event on a topic, as the hub stores and delivers it.
///
/// `tenant` is internal (never written to clients); `offset` is assigned by
/// the event bus when the event is appended to the topic's history.
public struct Event: Sendable, Hashable {
    public var tenant: String
    public var topic: Topic
    public var event: String
    public var offset: Offset
    public var timestamp: Date
    public var data: JSONValue
    /// The team that owns the entity the topic is about, when the publisher named it.
    public var teamID: String?

    public init(
        tenant: String, topic: Topic, event: String, offset: Offset, timestamp: Date, data: JSONValue,
        teamID: String? = nil
    ) {
        self.tenant = tenant
        self.topic = topic
        self.event = event
        self.offset = offset
        self.timestamp = timestamp
        self.data = data
        self.teamID = teamID
    }
}

/// An event before the bus has given it an offset.
public struct EventDraft: Sendable, Hashable {
    public var tenant: String
    public var topic: Topic
    public var event: String
    public var data: JSONValue
    public var teamID: String?
    public var timestamp: Date

    public init(tenant: String, topic: Topic, event: String, data: JSONValue, teamID: String? = nil, timestamp: Date = Date()) {
        self.tenant = tenant
        self.topic = topic
        self.event = event
        self.data = data
        self.teamID = teamID
        self.timestamp = timestamp
    }

    public func with(offset: Offset) -> Event {
        Event(tenant: tenant, topic: topic, event: event, offset: offset, timestamp: timestamp, data: data, teamID: teamID)
    }
}

/// The name of an event: 1 to 64 bytes of `[A-Za-z0-9_.-]`.
public enum EventName {
    public static let maxBytes = 64

    public static func isValid(_ name: String) -> Bool {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= maxBytes else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }
}
