/// Encodes events as the frames clients receive. Each event is encoded once
/// and the same bytes are written to every subscriber.
public enum EventFrame {
    /// `{"type":"event","topic":…,"event":…,"offset":…,"timestamp":…,"data":…}`.
    /// `topic` is the client-facing name (see `ClientTopic`).
    public static func event(_ event: Event) -> [UInt8] {
        encode(event, type: "event")
    }

    /// `{"type":"snapshot",…}`: the topic's last event, sent on `snapshot: true`.
    public static func snapshot(_ event: Event) -> [UInt8] {
        encode(event, type: "snapshot")
    }

    /// The SSE `data:` payload: the same object as the WebSocket event frame.
    public static func encode(_ event: Event, type: StaticString) -> [UInt8] {
        var writer = JSONWriter(capacity: 160)
        writer.raw("{\"type\":\"")
        writer.raw(type)
        writer.raw("\",\"topic\":")
        writer.string(ClientTopic.display(event.topic))
        writer.raw(",\"event\":")
        writer.string(event.event)
        writer.raw(",\"offset\":")
        writer.string(event.offset.description)
        writer.raw(",\"timestamp\":")
        writer.string(Timestamp.format(event.timestamp))
        writer.raw(",\"data\":")
        writer.value(event.data)
        writer.raw("}")
        return writer.bytes
    }
}

/// The mapping between the topics a client names and the topics the hub keys
/// internally. Only `user:notifications` differs: it stands for the caller's
/// own `user:{sub}:notifications`.
public enum ClientTopic {
    public static let notifications = "user:notifications"

    /// The internal topic for what the client asked, given the caller's subject.
    /// The subject must make one concrete segment: a subject `*` or one with
    /// `:` would turn the caller's own topic into a pattern or another shape,
    /// so such a subject has no `user:notifications` (TopicError).
    public static func resolve(_ topic: Topic, subject: String) throws(TopicError) -> Topic {
        guard topic.rawValue == notifications else { return topic }
        guard let resolved = try? Topic("user:\(subject):notifications"), !resolved.isPattern, resolved.segments.count == 3
        else { throw .unusableSubject }
        return resolved
    }

    /// What a client sees for an internal topic.
    public static func display(_ topic: Topic) -> String {
        let parts = topic.segments
        if parts.count == 3, parts[0] == "user", parts[2] == "notifications" { return notifications }
        return topic.rawValue
    }
}
