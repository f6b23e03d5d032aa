import Protocol

/// An event as REST returns it: the same object a WebSocket client receives.
struct EventView: Encodable, Sendable {
    var type = "event"
    var topic: String
    var event: String
    var offset: String
    var timestamp: String
    var data: JSONValue

    init(_ event: Event) {
        topic = ClientTopic.display(event.topic)
        self.event = event.event
        offset = event.offset.description
        timestamp = Timestamp.format(event.timestamp)
        data = event.data
    }
}

/// `POST /events` body item.
struct PublishRequest: Decodable, Sendable {
    var topic: String
    var event: String
    var data: JSONValue?
    var teamID: String?

    enum CodingKeys: String, CodingKey {
        case topic, event, data
        case teamID = "team_id"
    }
}

/// `POST /events` body: one event, or `{"events":[…]}`.
enum PublishBody: Decodable, Sendable {
    case single(PublishRequest)
    case batch([PublishRequest])

    enum CodingKeys: String, CodingKey {
        case events
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.events) {
            self = .batch(try container.decode([PublishRequest].self, forKey: .events))
        } else {
            self = .single(try PublishRequest(from: decoder))
        }
    }
}

struct PublishedEvent: Encodable, Sendable {
    var topic: String
    var event: String
    var offset: String
    var timestamp: String
}

struct PublishResponse: Encodable, Sendable {
    var events: [PublishedEvent]
}

struct HistoryResponse: Encodable, Sendable {
    var topic: String
    var events: [EventView]
    var latest: String?
    var resync: Bool
    var hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case topic, events, latest, resync
        case hasMore = "has_more"
    }
}
