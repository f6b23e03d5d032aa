import CoreMetrics
import Foundation
import Logging
import NIOCore
import Protocol
import Redis

/// The Redis side of topics (history streams, epochs, last values, the
/// entity directory): the scripts and reads shared by ``RedisEventBus``
/// and its receiver. Layout in ``RedisKeySpace``, scripts in ``RedisBusScripts``.
struct RedisTopicStore: Sendable {
    let client: RedisClient
    let keys: RedisKeySpace
    /// `MAXLEN ~` of every stream (at least 1).
    let historyLength: Int
    let topicTTL: Duration?
    let placeholderTTL: Duration
    let metrics: HubMetrics
    let logger: Logger

    /// An ingest entry to acknowledge in the same script as its publish.
    struct Acknowledgement: Sendable {
        var stream: String
        var group: String
        var id: String
    }

    /// `r` + milliseconds since 1970 in base 36 + 8 random base-36 digits.
    static func makeEpoch() -> String {
        let millis = UInt64(Date().timeIntervalSince1970 * 1000)
        let random = String(UInt64.random(in: 0..<2_821_109_907_456), radix: 36)  // 36^8
        return "r" + String(millis, radix: 36) + String(repeating: "0", count: 8 - random.count) + random
    }

    // MARK: - Publish

    /// Publishes drafts of one tenant with one script call. Returns nil when
    /// `acknowledging` names an entry that is not pending any more (nothing
    /// was published).
    func publish(_ drafts: ArraySlice<EventDraft>, acknowledging ack: Acknowledgement? = nil) async throws(HubError) -> [Event]? {
        var scriptKeys: [RedisArgument] = []
        var arguments: [RedisArgument] = [
            .integer(historyLength), .integer(topicTTL?.milliseconds(atLeast: 1) ?? 0), .string(Self.makeEpoch()),
            .integer(drafts.count), .string(ack?.group ?? ""), .string(ack?.id ?? ""),
        ]
        scriptKeys.reserveCapacity(drafts.count * 3 + 1)
        arguments.reserveCapacity(6 + drafts.count * 4)
        if let ack { scriptKeys.append(.string(ack.stream)) }
        for draft in drafts {
            let key = TopicKey(tenant: draft.tenant, topic: draft.topic)
            scriptKeys.append(.string(keys.stream(key)))
            scriptKeys.append(.string(keys.meta(key)))
            let entity = draft.teamID == nil ? nil : draft.topic.entity
            if let entity { scriptKeys.append(.string(keys.entity(entity, tenant: draft.tenant))) }
            arguments.append(.string(keys.channel(key)))
            arguments.append(.bytes(ByteBuffer(bytes: RedisEventCodec.encode(draft))))
            arguments.append(.string(draft.teamID ?? ""))
            arguments.append(entity == nil ? "0" : "1")
        }
        let reply: RESPValue
        do {
            reply = try await client.evaluate(RedisBusScripts.publish, keys: scriptKeys, arguments: arguments)
        } catch {
            throw HubError.redis(error, while: "publishing")
        }
        if reply.isNil, ack != nil { return nil }
        guard let offsets = reply.array, offsets.count == drafts.count else {
            throw HubError(.internalError, "the publish script answered \(reply)")
        }
        var events: [Event] = []
        events.reserveCapacity(drafts.count)
        for (draft, value) in zip(drafts, offsets) {
            guard let text = value.string, let offset = Offset(text) else {
                throw HubError(.internalError, "the publish script answered an offset \(value)")
            }
            events.append(draft.with(offset: offset))
        }
        return events
    }

    // MARK: - History

    /// What the history script saw of a topic.
    struct HistoryState {
        var epoch: String?
        var created: Bool
        var last: StreamID?
        var maxDeleted: StreamID
        /// The newest id trimmed away (see ``RedisBusScripts/history``).
        var floor: StreamID
        var entries: [(id: String, body: ByteBuffer?)]
    }

    /// Events after `offset` (all or nothing, see ``EventBus``).
    func history(_ key: TopicKey, after offset: Offset?, limit: Int) async throws(HubError) -> HistoryPage {
        // Bounded so that `limit + 1` (the COUNT that tells truncation) cannot overflow.
        let limit = min(max(0, limit), 1_000_000)
        // An offset of another kind of epoch can only get resync; an offset
        // at the largest possible id has no exclusive start (XRANGE refuses it).
        let unreadable = offset.map { !$0.epoch.hasPrefix("r") || ($0.major == .max && $0.minor == .max) } ?? false
        let expected = unreadable ? "-" : offset?.epoch ?? ""
        let start = offset.map(RedisEventCodec.streamID) ?? ""
        let reply: RESPValue
        do {
            reply = try await client.evaluate(
                RedisBusScripts.history, keys: [.string(keys.stream(key)), .string(keys.meta(key))],
                arguments: [.string(expected), .string(unreadable ? "" : start), .integer(limit + 1)])
        } catch {
            throw HubError.redis(error, while: "reading history")
        }
        guard let state = Self.historyState(reply) else {
            throw HubError(.internalError, "the history script answered \(reply)")
        }
        return decide(state, key: key, after: offset, limit: limit)
    }

    static func historyState(_ reply: RESPValue) -> HistoryState? {
        guard let parts = reply.array, parts.count == 6, let deletedText = parts[3].string,
            let maxDeleted = StreamID(deletedText), let floorText = parts[4].string, let floor = StreamID(floorText),
            let rawEntries = parts[5].array
        else { return nil }
        var entries: [(id: String, body: ByteBuffer?)] = []
        entries.reserveCapacity(rawEntries.count)
        for raw in rawEntries {
            guard let pair = raw.array, pair.count == 2, let id = pair[0].string else { return nil }
            var body: ByteBuffer?
            if let fields = pair[1].array {
                var index = 0
                while index + 1 < fields.count {
                    if fields[index].string == "e" { body = fields[index + 1].bytes }
                    index += 2
                }
            }
            entries.append((id, body))
        }
        let last = parts[2].string.flatMap(StreamID.init)
        return HistoryState(
            epoch: parts[0].string, created: parts[1].string == "1", last: last == .zero ? nil : last, maxDeleted: maxDeleted,
            floor: floor, entries: entries)
    }

    /// The all-or-nothing rule, given what the script saw.
    func decide(_ state: HistoryState, key: TopicKey, after offset: Offset?, limit: Int) -> HistoryPage {
        guard let epoch = state.epoch else {
            // No epoch: no event was ever published (or the meta hash was lost).
            return offset == nil && state.last == nil ? HistoryPage(events: [], complete: true, latest: nil) : .resync(latest: nil)
        }
        let latest = state.last.flatMap { RedisEventCodec.offset(epoch: epoch, streamID: $0.description) }
        if let offset {
            guard offset.epoch == epoch else { return .resync(latest: latest) }
            let position = StreamID(offset)
            guard let last = state.last else {
                // No stream: complete only at the start of an epoch whose stream was never created.
                return !state.created && position == .zero ? HistoryPage(events: [], complete: true, latest: nil) : .resync(latest: nil)
            }
            // An offset after the latest was never given; an entry after it was
            // trimmed or deleted: resync.
            guard position <= last, state.floor <= position, state.maxDeleted <= position else { return .resync(latest: latest) }
        }
        var events: [Event] = []
        events.reserveCapacity(min(limit, state.entries.count))
        for entry in state.entries.prefix(limit) {
            guard let body = entry.body, let at = RedisEventCodec.offset(epoch: epoch, streamID: entry.id),
                let event = try? RedisEventCodec.decode(stored: body, offset: at)
            else {
                // An entry that is not an event cannot be delivered: not complete.
                metrics.busMalformedMessages.increment()
                logger.warning(
                    "malformed entry in a history stream", metadata: ["hub.topic": "\(key)", "redis.entry": "\(entry.id)"])
                return .resync(latest: latest)
            }
            events.append(event)
        }
        return HistoryPage(events: events, complete: true, latest: latest, truncated: state.entries.count > limit)
    }

    // MARK: - Last value, entities, sync markers

    func lastEvent(_ key: TopicKey) async throws(HubError) -> Event? {
        let reply: RESPValue
        do {
            reply = try await client.send(["HGET", .string(keys.meta(key)), "last"])
        } catch {
            throw HubError.redis(error, while: "reading the last value")
        }
        guard let bytes = reply.bytes, !reply.isNil else { return nil }
        do {
            return try RedisEventCodec.decode(message: bytes)
        } catch {
            metrics.busMalformedMessages.increment()
            logger.warning("malformed last value", metadata: ["hub.topic": "\(key)", "hub.reason": "\(error)"])
            return nil
        }
    }

    func entity(_ ref: EntityRef, tenant: String) async throws(HubError) -> EntityRecord? {
        let reply: RESPValue
        do {
            reply = try await client.send(["GET", .string(keys.entity(ref, tenant: tenant))])
        } catch {
            throw HubError.redis(error, while: "reading the entity directory")
        }
        guard let text = reply.string else { return nil }
        if text == "none" { return EntityRecord(tenant: tenant, ref: ref, teamID: nil) }
        if text.hasPrefix("team:"), text.count > 5 { return EntityRecord(tenant: tenant, ref: ref, teamID: String(text.dropFirst(5))) }
        logger.warning("malformed entity directory entry", metadata: ["hub.entity": "\(tenant)/\(ref)"])
        return nil
    }

    func recordEntity(_ ref: EntityRef, tenant: String, teamID: String?) async throws(HubError) {
        do {
            _ = try await client.send(["SET", .string(keys.entity(ref, tenant: tenant)), .string(teamID.map { "team:" + $0 } ?? "none")])
        } catch {
            throw HubError.redis(error, while: "writing the entity directory")
        }
    }

    /// Deletes the topics' streams and hashes and the entity's directory key
    /// in one `DEL` (they share the tenant's hash tag).
    func forget(_ ref: EntityRef, tenant: String, topics: [Topic]) async throws(HubError) {
        var arguments: [RedisArgument] = ["DEL", .string(keys.entity(ref, tenant: tenant))]
        for topic in topics {
            let key = TopicKey(tenant: tenant, topic: topic)
            arguments.append(.string(keys.stream(key)))
            arguments.append(.string(keys.meta(key)))
        }
        do {
            _ = try await client.send(RedisCommand(arguments))
        } catch {
            throw HubError.redis(error, while: "forgetting an entity's topics")
        }
    }

    /// Publishes a sync marker on each topic's channel (``RedisBusScripts/sync``).
    func sync(_ topics: [TopicKey]) async throws(HubError) {
        guard !topics.isEmpty else { return }
        var scriptKeys: [RedisArgument] = []
        var arguments: [RedisArgument] = [.string(Self.makeEpoch()), .integer(placeholderTTL.milliseconds(atLeast: 1))]
        scriptKeys.reserveCapacity(topics.count * 2)
        arguments.reserveCapacity(2 + topics.count * 3)
        for key in topics {
            scriptKeys.append(.string(keys.stream(key)))
            scriptKeys.append(.string(keys.meta(key)))
            arguments.append(.string(keys.channel(key)))
            arguments.append(.string(key.topic.rawValue))
            arguments.append(.string(key.tenant))
        }
        do {
            _ = try await client.evaluate(RedisBusScripts.sync, keys: scriptKeys, arguments: arguments)
        } catch {
            throw HubError.redis(error, while: "publishing sync markers")
        }
    }
}
