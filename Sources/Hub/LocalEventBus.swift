import CoreMetrics
import Foundation
import Protocol
import Synchronization

/// The in-process event bus of the embedded deployment: history, last-value
/// cache and entity directory live in this process's memory; the epoch is the
/// process's start, so offsets from an earlier run get `resync`.
///
/// With a `topicTTL`, a topic without an event for that long is forgotten
/// (history and last value) by `expireIdleTopics()`, which a sweeper calls;
/// `forget` drops the topics of an entity that is gone. Once any topic has
/// been forgotten, every topic log created afterwards gets an
/// epoch of its own: a topic that comes back starts at position 1 again, and
/// an offset of its earlier life must get `resync`, never events of the new
/// one. The entity directory does not expire: it is one small record per
/// entity, and forgetting an owner would deny team-scoped readers.
public final class LocalEventBus: EventBus {
    public let epoch: String
    let historyLength: Int
    let distributor: Distributor
    let metrics: HubMetrics
    /// How long a topic lives after its last event; nil: for the life of the process.
    public let topicTTL: Duration?
    private let now: @Sendable () -> ContinuousClock.Instant
    private let shards: [LockedBox<[TopicKey: TopicLog]>]
    private let entities: Mutex<[EntityKey: EntityRecord]>
    /// Set (under the lock of the shard it is removed from) once a topic has been forgotten.
    private let renewEpochs = Atomic<Bool>(false)

    struct EntityKey: Hashable {
        var tenant: String
        var ref: EntityRef
    }

    public init(
        distributor: Distributor, historyLength: Int, metrics: HubMetrics, epoch: String = LocalEventBus.makeEpoch(),
        topicTTL: Duration? = nil, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        precondition(topicTTL.map { $0 > .zero } ?? true, "a topic TTL is positive")
        self.distributor = distributor
        self.historyLength = historyLength
        self.metrics = metrics
        self.epoch = epoch
        self.topicTTL = topicTTL
        self.now = now
        self.shards = (0..<32).map { _ in LockedBox([:]) }
        self.entities = Mutex([:])
    }

    /// `e` + milliseconds since 1970 in base 36 + 3 random base-36 digits.
    public static func makeEpoch() -> String {
        let millis = UInt64(Date().timeIntervalSince1970 * 1000)
        let random = String(UInt32.random(in: 0..<46_656), radix: 36)
        return "e" + String(millis, radix: 36) + String(repeating: "0", count: 3 - random.count) + random
    }

    private func shard(_ key: TopicKey) -> LockedBox<[TopicKey: TopicLog]> {
        var hasher = Hasher()
        hasher.combine(key)
        return shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))]
    }

    private func log(_ key: TopicKey, create: Bool) -> TopicLog? {
        shard(key).withLock { logs in
            if let log = logs[key] { return log }
            guard create else { return nil }
            let epoch = renewEpochs.load(ordering: .relaxed) ? Self.makeEpoch() : epoch
            let log = TopicLog(capacity: historyLength, epoch: epoch, now: now())
            logs[key] = log
            metrics.topics.increment()
            return log
        }
    }

    /// Forgets every topic whose last event is `topicTTL` old or older;
    /// returns how many. Nothing without a TTL.
    @discardableResult
    public func expireIdleTopics() -> Int {
        guard let topicTTL else { return 0 }
        let cutoff = now() - topicTTL
        var expired = 0
        for shard in shards {
            expired += shard.withLock { logs in
                Array(logs.keys).count { retire(key: $0, in: &logs, ifIdleSince: cutoff) }
            }
        }
        if expired > 0 { metrics.topicsExpired.increment(by: Int64(expired)) }
        return expired
    }

    /// Retires `key`'s log (only when idle since `cutoff`, if given) and takes
    /// it out of its shard; call under the shard's lock, so that a log created
    /// for the key afterwards sees `renewEpochs`. True if it did.
    private func retire(
        key: TopicKey, in logs: inout [TopicKey: TopicLog], ifIdleSince cutoff: ContinuousClock.Instant? = nil
    ) -> Bool {
        guard let log = logs[key], log.retire(ifIdleSince: cutoff) else { return false }
        renewEpochs.store(true, ordering: .relaxed)
        logs[key] = nil
        metrics.topics.decrement()
        return true
    }

    /// How often a sweeper calls `expireIdleTopics()`: a tenth of the TTL,
    /// between 1 s and 60 s (a topic outlives its TTL by at most that).
    public var expirySweepInterval: Duration? {
        topicTTL.map { min(max($0 / 10, .seconds(1)), .seconds(60)) }
    }

    public func publish(_ drafts: [EventDraft]) async throws -> [Event] {
        var published: [Event] = []
        published.reserveCapacity(drafts.count)
        let now = now()
        for draft in drafts {
            if let teamID = draft.teamID, let ref = draft.topic.entity {
                storeEntity(ref, tenant: draft.tenant, teamID: teamID)
            }
            let key = TopicKey(tenant: draft.tenant, topic: draft.topic)
            // `log(create: true)` always returns a log; a retired one is out of the shard, so the next is new.
            var event: Event?
            while event == nil {
                event = log(key, create: true)!.append(draft, at: now, deliver: distributor.deliver)
            }
            published.append(event!)
        }
        metrics.eventsPublished.increment(by: Int64(published.count))
        return published
    }

    public func history(_ key: TopicKey, after offset: Offset?, limit: Int) async throws -> HistoryPage {
        guard let log = log(key, create: false) else {
            // No event in this epoch: complete only for an offset of this epoch at position 0.
            if let offset, offset.epoch != epoch || offset.major != 0 { return .resync(latest: nil) }
            return HistoryPage(events: [], complete: true, latest: nil)
        }
        return log.read(after: offset, limit: limit)
    }

    public func lastEvent(_ key: TopicKey) async throws -> Event? {
        log(key, create: false)?.lastEvent
    }

    public func entity(_ ref: EntityRef, tenant: String) async throws -> EntityRecord? {
        entities.withLock { $0[EntityKey(tenant: tenant, ref: ref)] }
    }

    public func recordEntity(_ ref: EntityRef, tenant: String, teamID: String?) async throws {
        storeEntity(ref, tenant: tenant, teamID: teamID)
    }

    public func forget(_ ref: EntityRef, tenant: String, topics: [Topic]) async throws {
        for topic in topics {
            let key = TopicKey(tenant: tenant, topic: topic)
            _ = shard(key).withLock { logs in retire(key: key, in: &logs) }
        }
        entities.withLock { $0[EntityKey(tenant: tenant, ref: ref)] = nil }
    }

    private func storeEntity(_ ref: EntityRef, tenant: String, teamID: String?) {
        entities.withLock { $0[EntityKey(tenant: tenant, ref: ref)] = EntityRecord(tenant: tenant, ref: ref, teamID: teamID) }
    }

    public func isReady() async -> Bool { true }

    /// Every event reaches this process's Distributor: nothing to do.
    public func attach(_ keys: [TopicKey]) async throws {}

    /// Every event reaches this process's Distributor: nothing to do.
    public func detach(_ keys: [TopicKey]) {}
}
