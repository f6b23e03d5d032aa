import NIOCore
import Protocol
import Testing

@testable import Hub

@Suite("SubscriptionIndex")
struct SubscriptionIndexTests {
    /// Session ids of every match, per matched key.
    func matched(_ index: SubscriptionIndex, _ key: TopicKey) -> [TopicKey: Set<UInt64>] {
        var result: [TopicKey: Set<UInt64>] = [:]
        for match in index.matches(for: key) {
            #expect(result[match.key] == nil, "key \(match.key) matched twice")
            result[match.key] = Set(match.sessions.map(\.id))
            #expect(match.sessions.count == result[match.key]?.count, "a session is listed twice for \(match.key)")
        }
        return result
    }

    @Test("exact add, idempotent add, remove, idempotent remove")
    func exact() {
        let index = SubscriptionIndex()
        let k = key("application:app_1:status")
        let s1 = makeSession(id: 1)
        let s2 = makeSession(id: 2)
        #expect(index.matches(for: k).isEmpty)
        #expect(index.keyCount == 0)

        index.add(k, s1)
        index.add(k, s1)
        index.add(k, s2)
        #expect(matched(index, k) == [k: [1, 2]])
        #expect(index.keyCount == 1)

        index.remove(k, s1)
        #expect(matched(index, k) == [k: [2]])
        index.remove(k, s1)
        #expect(matched(index, k) == [k: [2]])
        #expect(index.keyCount == 1)

        index.remove(k, s2)
        #expect(index.matches(for: k).isEmpty)
        #expect(index.keyCount == 0)
        index.remove(k, s2)
        #expect(index.keyCount == 0)
    }

    @Test("removing sessions in any order keeps the others (swap-remove bookkeeping)")
    func removalOrder() {
        let index = SubscriptionIndex(shardCount: 1)
        let k = key("operation:op_1:progress")
        let sessions = (1...6).map { makeSession(id: UInt64($0)) }
        for session in sessions { index.add(k, session) }
        var expected = Set(sessions.map(\.id))
        for id in [2, 6, 1, 4] as [UInt64] {
            index.remove(k, sessions[Int(id) - 1])
            expected.remove(id)
            #expect(matched(index, k) == [k: expected])
        }
        // Re-adding a removed session and removing a moved one still work.
        index.add(k, sessions[0])
        expected.insert(1)
        index.remove(k, sessions[2])
        expected.remove(3)
        #expect(matched(index, k) == [k: expected])
    }

    @Test("operation:*:progress matches operation:op_1:progress, not operation:op_1:logs, not another tenant")
    func patterns() {
        let index = SubscriptionIndex()
        let pattern = key("operation:*:progress")
        let session = makeSession(id: 7)
        index.add(pattern, session)

        #expect(matched(index, key("operation:op_1:progress")) == [pattern: [7]])
        #expect(matched(index, key("operation:op_2:progress")) == [pattern: [7]])
        #expect(matched(index, key("operation:op_1:logs")).isEmpty)
        #expect(matched(index, key("application:op_1:progress")).isEmpty)
        #expect(matched(index, key("operation:op_1:progress:extra")).isEmpty)
        #expect(matched(index, key("operation:op_1:progress", tenant: "globex")).isEmpty)
        #expect(index.keyCount == 1)
    }

    @Test("exact match first, then every matching pattern")
    func exactAndPatterns() {
        let index = SubscriptionIndex()
        let exact = key("operation:op_1:progress")
        let byID = key("operation:*:progress")
        let byChannel = key("operation:op_1:*")
        let both = key("operation:*:*")
        index.add(exact, makeSession(id: 1))
        index.add(byID, makeSession(id: 2))
        index.add(byChannel, makeSession(id: 3))
        index.add(both, makeSession(id: 4))
        let matches = index.matches(for: exact)
        #expect(matches.first?.key == exact)
        #expect(matched(index, exact) == [exact: [1], byID: [2], byChannel: [3], both: [4]])
        #expect(matched(index, key("operation:op_2:logs")) == [both: [4]])
    }

    @Test("a topic in tenant A never matches subscriptions of tenant B")
    func tenantIsolation() {
        let index = SubscriptionIndex()
        let inA = key("application:app_1:status", tenant: "acme")
        let inB = key("application:app_1:status", tenant: "globex")
        index.add(inB, makeSession(id: 1, tenant: "globex"))
        index.add(key("application:*:status", tenant: "globex"), makeSession(id: 2, tenant: "globex"))
        #expect(index.matches(for: inA).isEmpty)
        #expect(matched(index, inB) == [inB: [1], key("application:*:status", tenant: "globex"): [2]])

        index.add(inA, makeSession(id: 3))
        #expect(matched(index, inA) == [inA: [3]])
    }

    @Test("removing the last subscriber of a pattern cleans up")
    func patternCleanup() {
        let index = SubscriptionIndex()
        let pattern = key("resource:*:health")
        let s1 = makeSession(id: 1)
        let s2 = makeSession(id: 2)
        index.add(pattern, s1)
        index.add(pattern, s2)
        index.add(pattern, s2)
        #expect(index.keyCount == 1)
        index.remove(pattern, s1)
        #expect(matched(index, key("resource:db_1:health")) == [pattern: [2]])
        index.remove(pattern, s2)
        #expect(index.keyCount == 0)
        #expect(index.matches(for: key("resource:db_1:health")).isEmpty)
        index.remove(pattern, s2)
        #expect(index.keyCount == 0)

        // Patterns work again after the tenant's last one went away.
        index.add(pattern, s1)
        #expect(matched(index, key("resource:db_1:health")) == [pattern: [1]])
    }

    @Test("keyCount counts distinct exact keys and patterns")
    func keyCount() {
        let index = SubscriptionIndex()
        let s = makeSession()
        let keys = [
            key("application:app_1:status"), key("application:app_2:status"), key("application:app_1:status", tenant: "globex"),
            key("application:*:status"), key("application:*:status", tenant: "globex"),
        ]
        for k in keys { index.add(k, s) }
        #expect(index.keyCount == keys.count)
        for (removed, k) in keys.enumerated() {
            index.remove(k, s)
            #expect(index.keyCount == keys.count - removed - 1)
        }
    }

    @Test("many unrelated subscriptions do not change what matches(for:) returns")
    func unrelatedSubscriptions() {
        let index = SubscriptionIndex()
        let target = key("operation:op_1:progress")
        let pattern = key("operation:*:progress")
        index.add(target, makeSession(id: 1))
        index.add(pattern, makeSession(id: 2))
        let before = matched(index, target)

        var id: UInt64 = 100
        for n in 0..<2_000 {
            id += 1
            let session = makeSession(id: id)
            index.add(key("operation:op_\(n + 2):progress"), session)
            index.add(key("operation:op_1:progress", tenant: "tenant\(n)"), session)
            index.add(key("application:app_\(n):status"), session)
            if n % 100 == 0 {
                index.add(key("operation:*:progress", tenant: "tenant\(n)"), session)
                index.add(key("application:*:status"), session)
                index.add(key("operation:op_1:logs"), session)
            }
        }
        #expect(before == [target: [1], pattern: [2]])
        #expect(matched(index, target) == before)
    }
}
