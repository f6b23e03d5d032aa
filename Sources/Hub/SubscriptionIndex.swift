import Protocol
import Synchronization

/// Who gets a topic: exact subscriptions in sharded hash maps, wildcard
/// subscriptions in a per-tenant map of patterns.
///
/// `subscribers(of:)` costs one hash lookup for the exact topic plus, only when
/// the tenant has wildcard subscriptions, one lookup per pattern that could
/// match (at most 15): it does not depend on the number of unrelated
/// subscriptions. Subscriber lists are copy-on-write arrays grouped by the
/// sessions' executors (`SubscriberList`), so a lookup hands out the groups in
/// O(1) and the fan-out runs outside every lock.
public final class SubscriptionIndex: Sendable {
    private let shards: [LockedBox<Shard>]
    private let patterns: Mutex<[String: PatternTenant]>
    /// Tenants with at least one wildcard subscription, read without the pattern lock's contention.
    private let patternTenants: Atomic<Int>

    struct Shard {
        var topics: [TopicKey: SubscriberList] = [:]
    }

    struct PatternTenant {
        var patterns: [Topic: SubscriberList] = [:]
    }

    public init(shardCount: Int = 32) {
        shards = (0..<max(1, shardCount)).map { _ in LockedBox(Shard()) }
        patterns = Mutex([:])
        patternTenants = Atomic(0)
    }

    private func shard(for key: TopicKey) -> LockedBox<Shard> {
        var hasher = Hasher()
        hasher.combine(key)
        let index = Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))
        return shards[index]
    }

    /// Adds `session` for `key` (a concrete topic or a pattern). Idempotent.
    public func add(_ key: TopicKey, _ session: Session) {
        if key.topic.isPattern {
            patterns.withLock { tenants in
                let wasEmpty = tenants[key.tenant] == nil
                _ = tenants[key.tenant, default: PatternTenant()].patterns[key.topic, default: SubscriberList()].insert(session)
                if wasEmpty { patternTenants.add(1, ordering: .relaxed) }
            }
        } else {
            _ = shard(for: key).withLock { $0.topics[key, default: SubscriberList()].insert(session) }
        }
    }

    /// Removes `session` from `key`. Idempotent.
    public func remove(_ key: TopicKey, _ session: Session) {
        if key.topic.isPattern {
            // Mutated in place: a copy of the list out of the dictionary would make
            // every removal copy the whole list (O(n) each, O(n²) for a mass disconnect).
            patterns.withLock { tenants in
                guard let tenantIndex = tenants.index(forKey: key.tenant),
                    let listIndex = tenants.values[tenantIndex].patterns.index(forKey: key.topic)
                else { return }
                _ = tenants.values[tenantIndex].patterns.values[listIndex].remove(session)
                guard tenants.values[tenantIndex].patterns.values[listIndex].isEmpty else { return }
                tenants.values[tenantIndex].patterns.remove(at: listIndex)
                if tenants.values[tenantIndex].patterns.isEmpty {
                    tenants.remove(at: tenantIndex)
                    patternTenants.subtract(1, ordering: .relaxed)
                }
            }
        } else {
            shard(for: key).withLock { shard in
                guard let index = shard.topics.index(forKey: key) else { return }
                _ = shard.topics.values[index].remove(session)
                if shard.topics.values[index].isEmpty { shard.topics.remove(at: index) }
            }
        }
    }

    /// A match: the subscriptions of one key that a concrete topic reaches.
    public struct Match: Sendable {
        public var key: TopicKey
        public var groups: [SubscriberGroup]

        /// Every session of the match, whatever its executor.
        public var sessions: [Session] { groups.flatMap(\.sessions) }
    }

    /// Every subscription a concrete topic reaches: the exact one first, then
    /// matching patterns. A session subscribed both exactly and by a pattern
    /// appears in several matches; the Distributor delivers once per session.
    public func matches(for key: TopicKey) -> [Match] {
        var result: [Match] = []
        if let exact = shard(for: key).withLock({ $0.topics[key]?.groups }) {
            result.append(Match(key: key, groups: exact))
        }
        guard patternTenants.load(ordering: .relaxed) > 0 else { return result }
        let candidates = key.topic.matchingPatterns
        patterns.withLock { tenants in
            guard let tenant = tenants[key.tenant] else { return }
            for pattern in candidates {
                if let list = tenant.patterns[pattern] {
                    result.append(Match(key: TopicKey(tenant: key.tenant, topic: pattern), groups: list.groups))
                }
            }
        }
        return result
    }

    /// The sessions subscribed to `key` itself (a concrete topic or a
    /// pattern; not the patterns that match a concrete key).
    public func sessions(of key: TopicKey) -> [Session] {
        if key.topic.isPattern {
            return patterns.withLock { $0[key.tenant]?.patterns[key.topic]?.groups.flatMap(\.sessions) } ?? []
        }
        return shard(for: key).withLock { $0.topics[key]?.groups.flatMap(\.sessions) } ?? []
    }

    /// Number of distinct keys with subscribers (exact and patterns).
    public var keyCount: Int {
        let exact = shards.reduce(0) { total, shard in total + shard.withLock { $0.topics.count } }
        let wild = patterns.withLock { $0.values.reduce(0) { $0 + $1.patterns.count } }
        return exact + wild
    }
}
