import Foundation
import NIOCore
import Protocol

/// How events are written into Redis: the *stored event* (a JSON object,
/// the value of a stream entry's field `e`) and the *message* (what is
/// published on a topic's channel and kept as its last value):
/// `<offset> <stored event>`, the offset in its wire form (`r…:ms-seq`).
///
/// The stored event is
/// `{"tenant":…,"topic":…,"event":…,"ts":…,"data":…,"team_id":…}` where
/// `ts` is the timestamp as seconds since 2001-01-01 (the `Date`'s own
/// representation, so that it comes back bit for bit) and `team_id` is
/// left out when the publisher named no team. Offsets are not stored in the
/// entry: an entry's offset is the topic's epoch and the entry's stream id.
public enum RedisEventCodec {
    /// Why bytes read from Redis are not an event.
    public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The stored form of a draft.
    public static func encode(_ draft: EventDraft) -> [UInt8] {
        var writer = JSONWriter(capacity: 192)
        writer.raw("{\"tenant\":")
        writer.string(draft.tenant)
        writer.raw(",\"topic\":")
        writer.string(draft.topic.rawValue)
        writer.raw(",\"event\":")
        writer.string(draft.event)
        writer.raw(",\"ts\":")
        writer.number(draft.timestamp.timeIntervalSinceReferenceDate)
        writer.raw(",\"data\":")
        writer.value(draft.data)
        if let teamID = draft.teamID {
            writer.raw(",\"team_id\":")
            writer.string(teamID)
        }
        writer.raw("}")
        return writer.bytes
    }

    private struct Stored: Decodable {
        var tenant: String
        var topic: String
        var event: String
        var ts: Double
        var data: JSONValue
        var teamID: String?

        enum CodingKeys: String, CodingKey {
            case tenant, topic, event, ts, data
            case teamID = "team_id"
        }
    }

    /// Decodes a stored event and gives it `offset`.
    public static func decode(stored bytes: ByteBuffer, offset: Offset) throws(DecodingError) -> Event {
        let stored: Stored
        do {
            stored = try JSONDecoder().decode(Stored.self, from: Data(bytes.readableBytesView))
        } catch {
            throw DecodingError(reason: "the stored event is not valid JSON of the expected shape")
        }
        guard let topic = try? Topic(stored.topic), !topic.isPattern else {
            throw DecodingError(reason: "the stored event has an invalid topic")
        }
        guard EventName.isValid(stored.event) else { throw DecodingError(reason: "the stored event has an invalid event name") }
        guard stored.ts.isFinite else { throw DecodingError(reason: "the stored event has an invalid timestamp") }
        return Event(
            tenant: stored.tenant, topic: topic, event: stored.event, offset: offset,
            timestamp: Date(timeIntervalSinceReferenceDate: stored.ts), data: stored.data, teamID: stored.teamID)
    }

    /// Decodes a message (`<offset> <stored event>`).
    public static func decode(message bytes: ByteBuffer) throws(DecodingError) -> Event {
        var body = bytes
        let offset = try takeOffset(&body)
        return try decode(stored: body, offset: offset)
    }

    /// The offset at the front of a message, without decoding the rest
    /// (`body` is left at the stored event).
    public static func takeOffset(_ body: inout ByteBuffer) throws(DecodingError) -> Offset {
        let view = body.readableBytesView
        guard let space = view.firstIndex(of: UInt8(ascii: " ")), space - view.startIndex <= 96,
            let text = body.readString(length: space - view.startIndex), let offset = Offset(text),
            offset.epoch.hasPrefix("r")
        else {
            throw DecodingError(reason: "the message does not start with a Redis offset")
        }
        body.moveReaderIndex(forwardBy: 1)
        return offset
    }

    /// A sync marker (``RedisBusScripts/sync``): `sync <offset> <topic> <tenant>`;
    /// nil when the message is not one (an event, or garbage).
    public static func decodeSync(_ bytes: ByteBuffer) -> (key: TopicKey, offset: Offset)? {
        guard bytes.readableBytesView.starts(with: "sync ".utf8) else { return nil }
        let parts = String(buffer: bytes).split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, let offset = Offset(String(parts[1])), offset.epoch.hasPrefix("r"),
            let topic = try? Topic(String(parts[2])), !topic.isPattern
        else { return nil }
        return (TopicKey(tenant: String(parts[3]), topic: topic), offset)
    }

    /// A stream id (`ms-seq`) of epoch `epoch` as an offset.
    public static func offset(epoch: String, streamID: String) -> Offset? {
        guard let offset = Offset("\(epoch):\(streamID)"), offset.epoch == epoch else { return nil }
        return offset
    }

    /// The stream id of an offset (`ms-seq`).
    public static func streamID(_ offset: Offset) -> String {
        "\(offset.major)-\(offset.minor)"
    }
}
