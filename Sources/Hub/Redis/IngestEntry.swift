import Foundation
import NIOCore
import Protocol

/// One entry of `hub:ingest`: field `event` holds
/// `{"tenant":…,"topic":…,"event":…,"data":…,"team_id":…}` (`data` and
/// `team_id` optional). Validated like `POST /api/v1/events`: a concrete
/// topic (not `user:notifications`), an event name of 1–64 `[A-Za-z0-9_.-]`,
/// a `team_id` of one topic segment, a non-empty tenant of at most 255 bytes.
/// The event's timestamp is the entry's id (when the backend wrote it).
struct IngestEntry: Sendable {
    var id: String
    /// The entry's fields; nil when the entry was deleted while pending.
    var fields: [(name: String, value: ByteBuffer)]?

    /// The raw `event` field, for the dead-letter copy.
    var payload: ByteBuffer? {
        fields?.first { $0.name == "event" }?.value
    }

    /// The draft to publish, or why the entry is malformed.
    func draft() -> Result<EventDraft, IngestRejection> {
        guard let payload else { return .failure(.init("the entry has no field event")) }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(payload.readableBytesView)),
            case .object(let object) = value
        else { return .failure(.init("event is not a JSON object")) }
        guard case .string(let tenant)? = object["tenant"], !tenant.isEmpty, tenant.utf8.count <= 255 else {
            return .failure(.init("tenant must be a non-empty string of at most 255 bytes"))
        }
        guard case .string(let topicText)? = object["topic"] else { return .failure(.init("topic must be a string")) }
        let topic: Topic
        do {
            topic = try Topic(topicText)
        } catch {
            return .failure(.init("invalid topic: \(error.message)"))
        }
        guard !topic.isPattern else { return .failure(.init("cannot publish to a wildcard topic")) }
        guard topic.rawValue != ClientTopic.notifications else {
            return .failure(.init("publish to user:{id}:notifications to reach one user"))
        }
        guard case .string(let name)? = object["event"], EventName.isValid(name) else {
            return .failure(.init("event must be 1–64 characters of A-Z a-z 0-9 _ . -"))
        }
        var teamID: String?
        switch object["team_id"] {
        case nil, .null?: break
        case .string(let team)? where (try? Topic(team)) != nil && !team.contains(":"): teamID = team
        default: return .failure(.init("team_id must be one topic segment"))
        }
        let data: JSONValue
        switch object["data"] {
        case nil, .null?: data = .object([:])
        case let value?: data = value
        }
        return .success(EventDraft(tenant: tenant, topic: topic, event: name, data: data, teamID: teamID, timestamp: timestamp))
    }

    /// The entry id's milliseconds, or now for an id that has none.
    var timestamp: Date {
        guard let ms = StreamID(id)?.ms else { return Date() }
        return Date(timeIntervalSince1970: Double(ms) / 1000)
    }
}

/// Why an ingest entry is malformed (recorded in the dead-letter stream).
struct IngestRejection: Error, Sendable, Equatable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}
