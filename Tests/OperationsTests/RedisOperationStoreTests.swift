import Foundation
import HubTesting
@testable import Operations
import Protocol
import Redis
import Testing

/// What only the Redis store has: its key layout, scripts in Redis's cache,
/// a server that can go away, and several nodes sharing one Redis. The
/// contract itself runs in `OperationStoreContractTests` (`StoreKind.redis`).
@Suite("Redis operation store", .timeLimit(.minutes(2)))
struct RedisOperationStoreTests {
    @Test func everyKeyIsWhereTheLayoutSaysAndNothingIsLeftBehind() async throws {
        try await withRedisNodes(1, keyPrefix: "layout") { _, nodes in
            let store = nodes[0].store
            // A tenant with the escaped characters, and one it could be confused with.
            var running = Fixtures.operation(id: "op_run", tenant: "ac:me%", status: .inProgress)
            let confusable = Fixtures.operation(id: "me%:op_run", tenant: "ac", teamID: nil, status: .succeeded)
            try await store.insert(running, completing: nil)
            try await store.insert(confusable, completing: nil)
            let (action, lines) = try OperationStateMachine.appendLogs(["one"], to: running, now: Fixtures.t0, cap: 10, maxLineBytes: 100)
            try await store.replace(action.operation, expectedVersion: 1, appending: lines, logCap: 10)
            running = action.operation
            let key = IdempotencyKey(tenant: "ac:me%", caller: "al:ice", key: "k:1")
            #expect(try await store.claimIdempotencyKey(key, fingerprint: "F", now: Fixtures.t0, ttl: 60, lease: 10) == .claimed)

            #expect(
                try await store.allKeys() == [
                    "{layout}:op:ac%3Ame%25:op_run", "{layout}:log:ac%3Ame%25:op_run", "{layout}:op:ac:me%:op_run",
                    "{layout}:t:ac%3Ame%25:all", "{layout}:t:ac%3Ame%25:status:in_progress", "{layout}:t:ac%3Ame%25:type:deploy",
                    "{layout}:t:ac%3Ame%25:tkind:application", "{layout}:t:ac%3Ame%25:tid:app_1",
                    "{layout}:t:ac%3Ame%25:team:frontend", "{layout}:t:ac:all", "{layout}:t:ac:status:succeeded",
                    "{layout}:t:ac:type:deploy", "{layout}:t:ac:tkind:application", "{layout}:t:ac:tid:app_1",
                    "{layout}:heartbeats", "{layout}:finished", "{layout}:refs",
                    "{layout}:idem:ac%3Ame%25:al%3Aice:k:1", "{layout}:idem-claims",
                ])
            #expect(try await store.sortedSet("{layout}:heartbeats") == ["ac:me%\u{0}op_run": Fixtures.t0.millisecondsSince1970 + 30_000])
            #expect(try await store.sortedSet("{layout}:finished") == ["ac\u{0}me%:op_run": Fixtures.t0.millisecondsSince1970])
            #expect(try await store.operation(running.ref) == running)
            #expect(try await store.operation(confusable.ref) == confusable)
            #expect(try await store.operation(OperationRef(tenant: "ac", id: "me%:op_run"))?.tenant == "ac")
            #expect(try await store.operation(OperationRef(tenant: "ac:me", id: "%:op_run")) == nil)
            #expect(try await store.consistencyProblems(logCap: 10) == [])
            let ttl = try await store.send(["PTTL", "{layout}:idem:ac%3Ame%25:al%3Aice:k:1"]).integer ?? 0
            #expect(ttl > 0 && ttl <= 60_000)

            // Deleting everything deletes every key (Redis drops emptied sorted sets).
            try await store.releaseIdempotencyKey(key)
            try await store.delete(confusable.ref, expectedVersion: 1)
            var finished = running
            finished.status = .failed
            finished.completedAt = Fixtures.t0
            finished.version += 1
            try await store.replace(finished, expectedVersion: running.version, appending: [], logCap: 10)
            #expect(try await store.consistencyProblems(logCap: 10) == [])
            #expect(try await store.purgeFinished(before: Fixtures.t0.addingTimeInterval(1), limit: 10) == [running.ref])
            #expect(try await store.allKeys() == [])
        }
    }

    @Test func theOnlyVisibleTemporaryKeysAreNone() async throws {
        try await withRedisNodes(1) { _, nodes in
            let store = nodes[0].store
            for index in 0..<6 {
                let op = Fixtures.operation(
                    id: "op_\(index)", teamID: index % 2 == 0 ? "a" : "b", status: index % 3 == 0 ? .pending : .succeeded)
                try await store.insert(op, completing: nil)
            }
            let query = OperationQuery(tenant: "acme", statuses: [.pending, .succeeded], type: "deploy", visibleTeams: ["a", "b"])
            #expect(try await store.list(query).total == 6)
            #expect(try await store.allKeys().filter { $0.contains(":tmp:") } == [])
            #expect(try await store.consistencyProblems(logCap: 10) == [])
        }
    }

    @Test func listAgreesWithTheReferenceStoreOnRandomData() async throws {
        try await withRedisNodes(1) { _, nodes in
            let redis = nodes[0].store
            let memory = MemoryOperationStore()
            var generator = SeededGenerator(seed: 7)
            let statuses = OperationStatus.allCases
            for index in 0..<300 {
                let op = Fixtures.operation(
                    id: "op_\(String(index, radix: 36))", tenant: index % 5 == 0 ? "other" : "acme",
                    type: ["deploy", "backup", "create_database"].randomElement(using: &generator)!,
                    target: OperationTarget(kind: ["application", "database"].randomElement(using: &generator)!, id: "t\(index % 7)"),
                    teamID: ["frontend", "backend", "data", nil].randomElement(using: &generator)!,
                    status: statuses.randomElement(using: &generator)!,
                    // Few distinct times: many ties, broken by id.
                    createdAt: Fixtures.t0.addingTimeInterval(TimeInterval(Int.random(in: 0..<40, using: &generator))))
                try await redis.insert(op, completing: nil)
                try await memory.insert(op, completing: nil)
            }
            for _ in 0..<150 {
                var query = OperationQuery(tenant: Bool.random(using: &generator) ? "acme" : "other")
                query.statuses = Set(statuses.filter { _ in Int.random(in: 0..<4, using: &generator) == 0 })
                if Bool.random(using: &generator) { query.type = ["deploy", "backup", "nothing"].randomElement(using: &generator) }
                if Int.random(in: 0..<3, using: &generator) == 0 { query.targetKind = "database" }
                if Int.random(in: 0..<3, using: &generator) == 0 { query.targetID = "t\(Int.random(in: 0..<8, using: &generator))" }
                if Int.random(in: 0..<4, using: &generator) == 0 { query.teamID = "backend" }
                if Int.random(in: 0..<3, using: &generator) == 0 {
                    query.visibleTeams = Set(["frontend", "backend", "data", "none"].filter { _ in Bool.random(using: &generator) })
                }
                query.perPage = [1, 5, 20, 200].randomElement(using: &generator)!
                query.page = Int.random(in: 1...4, using: &generator)
                let expected = try await memory.list(query)
                let actual = try await redis.list(query)
                #expect(actual == expected, "\(query)")
            }
            #expect(try await redis.consistencyProblems(logCap: 10) == [])
        }
    }

    @Test func aRandomWorkloadOnTwoNodesKeepsEveryIndexRight() async throws {
        let cap = 8
        try await withRedisNodes(2, settings: { $0.logLinesPerOperation = cap }) { _, nodes in
            var generator = SeededGenerator(seed: 11)
            var refs: [OperationRef] = []
            var deleted = 0
            var seen: Set<OperationStatus> = []
            for step in 0..<600 {
                let node = nodes[Int.random(in: 0..<2, using: &generator)]
                if refs.isEmpty || Int.random(in: 0..<6, using: &generator) == 0 {
                    let new = Fixtures.newDeploy(
                        team: ["frontend", "backend", nil].randomElement(using: &generator)!, app: "app_\(step % 5)", heartbeat: 30)
                    refs.append(try await node.service.create(new, tenant: ["acme", "other"].randomElement(using: &generator)!, createdBy: "alice").operation.ref)
                    continue
                }
                let ref = refs.randomElement(using: &generator)!
                do {
                    switch Int.random(in: 0..<8, using: &generator) {
                    case 0: seen.insert(try await node.service.update(ref, OperationUpdate(status: .inProgress)).status)
                    case 1: _ = try await node.service.update(ref, OperationUpdate(progress: Int.random(in: 0...100, using: &generator)))
                    case 2:
                        let status = [OperationStatus.succeeded, .failed].randomElement(using: &generator)!
                        seen.insert(try await node.service.update(ref, OperationUpdate(status: status)).status)
                    case 3: seen.insert(try await node.service.cancel(ref, requestedBy: "bob").status)
                    case 4: _ = try await node.service.appendLogs(ref, (0..<Int.random(in: 1...5, using: &generator)).map { "l\($0)" })
                    case 5: _ = try await node.service.update(ref, OperationUpdate())  // a heartbeat when running
                    case 6:
                        try await node.service.delete(ref)
                        refs.removeAll { $0 == ref }
                        deleted += 1
                    default:
                        for other in nodes { other.clock.advance(by: 7) }
                        try await node.service.expireHeartbeats()
                    }
                } catch let error as OperationError where [.invalidTransition, .validation, .conflict, .notFound].contains(error.code) {
                    continue
                }
            }
            #expect(try await nodes[0].store.consistencyProblems(logCap: cap) == [])
            // `list` answers what filtering every stored operation gives.
            let everything = try await nodes[1].store.scan(after: nil, limit: 10_000)
            // The workload reached every corner: each status, timeouts, dropped lines, deletions.
            #expect(seen.union(everything.map(\.status)) == Set(OperationStatus.allCases))
            #expect(everything.contains { $0.error?.code == OperationFailure.workerTimeoutCode })
            #expect(everything.contains { $0.droppedLogLines > 0 })
            #expect(deleted > 0)
            let queries = [
                OperationQuery(tenant: "acme", perPage: 500), OperationQuery(tenant: "other", statuses: [.failed, .cancelled], perPage: 500),
                OperationQuery(tenant: "acme", statuses: [.inProgress], visibleTeams: ["frontend", "backend"], perPage: 500),
                OperationQuery(tenant: "acme", targetID: "app_3", teamID: "backend", perPage: 500),
            ]
            for query in queries {
                let expected = everything.filter(query.matches).sorted(by: OperationQuery.newestFirst)
                let page = try await nodes[0].store.list(query)
                #expect(page.operations == expected, "\(query)")
                #expect(page.total == expected.count)
            }
        }
    }

    @Test func theConsistencyCheckFindsBrokenIndexesAndLeftovers() async throws {
        try await withRedisNodes(1, keyPrefix: "broken") { _, nodes in
            let store = nodes[0].store
            let op = Fixtures.operation(id: "op_b", status: .inProgress)
            try await store.insert(op, completing: nil)
            #expect(try await store.consistencyProblems(logCap: 10) == [])
            _ = try await store.send(["ZREM", "{broken}:t:acme:status:in_progress", "op_b"])
            _ = try await store.send(["ZADD", "{broken}:t:acme:status:pending", 1, "op_b"])
            _ = try await store.send(["HSET", "{broken}:op:acme:op_b", "seq", 3])
            _ = try await store.send(["SET", "{broken}:tmp:inter", "x"])
            let problems = try await store.consistencyProblems(logCap: 10)
            #expect(problems.contains { $0.contains("status:in_progress") && $0.contains("missing") }, "\(problems)")
            #expect(problems.contains { $0.contains("status:pending") }, "\(problems)")
            #expect(problems.contains { $0.contains("field seq") }, "\(problems)")
            #expect(problems.contains { $0.contains("temporary key") }, "\(problems)")
        }
    }

    @Test func scriptsSurviveAnEmptiedScriptCache() async throws {
        try await withRedisNodes(1) { _, nodes in
            let store = nodes[0].store
            try await store.loadScripts()
            let insert = RedisOperationScripts.insert.sha1
            #expect(try await store.send(["SCRIPT", "EXISTS", .string(insert)]) == .array([.integer(1)]))
            _ = try await store.send(["SCRIPT", "FLUSH"])
            #expect(try await store.send(["SCRIPT", "EXISTS", .string(insert)]) == .array([.integer(0)]))
            // Every call still works: EVALSHA answers NOSCRIPT, EVAL runs (and caches) it.
            var op = Fixtures.operation(id: "op_flush", status: .inProgress)
            try await store.insert(op, completing: nil)
            let (action, lines) = try OperationStateMachine.appendLogs(["after the flush"], to: op, now: Fixtures.t0, cap: 10, maxLineBytes: 100)
            try await store.replace(action.operation, expectedVersion: 1, appending: lines, logCap: 10)
            op = action.operation
            #expect(try await store.logs(op.ref, after: 0, limit: 10).lines.map(\.text) == ["after the flush"])
            #expect(try await store.list(OperationQuery(tenant: "acme")).operations == [op])
            _ = try await store.send(["SCRIPT", "FLUSH"])
            #expect(try await store.claimIdempotencyKey(
                IdempotencyKey(tenant: "acme", caller: "a", key: "k"), fingerprint: "F", now: Fixtures.t0, ttl: 60, lease: 10) == .claimed)
            // The fallback cached the script again (the one not used since the flush stays out).
            #expect(try await store.send(["SCRIPT", "EXISTS", .string(RedisOperationScripts.claimIdempotencyKey.sha1), .string(insert)])
                == .array([.integer(1), .integer(0)]))
        }
    }

    @Test func aDownRedisIsUnavailableAndNotReady() async throws {
        try await withRedisNodes(1) { server, nodes in
            let store = nodes[0].store
            let op = Fixtures.operation(id: "op_down", status: .inProgress)
            try await store.insert(op, completing: nil)
            #expect(await store.isReady())
            try await server.stop()
            #expect(await !store.isReady())
            let calls: [@Sendable () async throws -> Void] = [
                { _ = try await store.operation(op.ref) },
                { try await store.insert(Fixtures.operation(id: "op_new"), completing: nil) },
                { try await store.replace(op, expectedVersion: 1, appending: [], logCap: 10) },
                { try await store.touch(op.ref, heartbeatAt: Fixtures.t0, expectedVersion: 1) },
                { _ = try await store.list(OperationQuery(tenant: "acme")) },
                { _ = try await store.logs(op.ref, after: 0, limit: 10) },
                { _ = try await store.expiredHeartbeats(at: Fixtures.t0, limit: 10) },
                { _ = try await store.purgeFinished(before: Fixtures.t0, limit: 10) },
                {
                    _ = try await store.claimIdempotencyKey(
                        IdempotencyKey(tenant: "acme", caller: "a", key: "k"), fingerprint: "F", now: Fixtures.t0, ttl: 60, lease: 10)
                },
            ]
            for call in calls {
                do {
                    try await call()
                    Issue.record("a call succeeded while Redis was down")
                } catch let error as OperationError {
                    #expect(error.code == .unavailable, "\(error)")
                    #expect(error.temporary)
                }
            }
            // Back (empty: the test server keeps nothing on disk).
            try await server.restart()
            try await withTimeout(10, "the client to reconnect") { try await store.client.waitForConnection() }
            #expect(await store.isReady())
            try await store.insert(op, completing: nil)
            #expect(try await store.operation(op.ref) == op)
        }
    }

    @Test func aChangeWaitsForAnotherNodesWriteLockAtMostTheWaitThenAnswersUnavailable() async throws {
        try await withRedisNodes(1) { _, nodes in
            let client = nodes[0].client
            let store = try RedisOperationStore(client: client, writeLockWait: .milliseconds(200))
            let ref = Fixtures.operation(id: "op_locked").ref
            // Another node holds the lock, for longer than this writer waits.
            _ = try await client.send(["SET", .string(store.keys.writeLock(ref)), "other-node", "PX", 60_000])
            do {
                try await withTimeout(10, "the writer to give up") {
                    try await store.withWriteLock(ref) { Issue.record("the body ran while another node held the lock") }
                }
                Issue.record("the lock was taken")
            } catch let error as OperationError {
                #expect(error.code == .unavailable)
                #expect(error.temporary)
            }
            #expect(try await client.send(["GET", .string(store.keys.writeLock(ref))]).string == "other-node")
        }
    }

    @Test func aLockLeftByADeadNodeIsTakenWhenItExpiresAndOursExpiresAfterTheTTL() async throws {
        try await withRedisNodes(1) { _, nodes in
            let client = nodes[0].client
            let store = try RedisOperationStore(client: client, writeLockTTL: .milliseconds(1500), writeLockWait: .seconds(10))
            let ref = Fixtures.operation(id: "op_orphan").ref
            let key = store.keys.writeLock(ref)
            // A node died holding the lock: it expires 300 ms later and the writer goes on.
            _ = try await client.send(["SET", .string(key), "dead-node", "PX", 300])
            let ttl = try await withTimeout(10, "the writer to take the expired lock") {
                try await store.withWriteLock(ref) { try await client.send(["PTTL", .string(key)]).integer ?? -2 }
            }
            #expect(ttl > 0 && ttl <= 1500, "the lock lives write_lock_ttl unless released (PTTL \(ttl) ms)")
            #expect(try await client.send(["EXISTS", .string(key)]).integer == 0, "released after the change")
        }
    }

    @Test func twoNodesSeeEachOthersWritesAndOneOfTwentyRacingWritersWins() async throws {
        try await withRedisNodes(2) { _, nodes in
            let (a, b) = (nodes[0].store, nodes[1].store)
            let op = Fixtures.operation(id: "op_shared")
            try await a.insert(op, completing: nil)
            #expect(try await b.operation(op.ref) == op)
            await #expect(throws: OperationError.self) { try await b.insert(op, completing: nil) }
            let winners = try await withThrowingTaskGroup(of: String?.self) { group in
                for writer in 0..<20 {
                    let store = writer % 2 == 0 ? a : b
                    group.addTask {
                        var next = op
                        next.version = 2
                        next.message = "writer \(writer)"
                        do {
                            try await store.replace(next, expectedVersion: 1, appending: [], logCap: 10)
                            return next.message
                        } catch let error as OperationError where error.code == .conflict {
                            return nil
                        }
                    }
                }
                return try await group.reduce(into: [String]()) { if let message = $1 { $0.append(message) } }
            }
            #expect(winners.count == 1)
            let stored = try #require(try await a.operation(op.ref))
            #expect(stored.message == winners.first)
            #expect(try await b.operation(op.ref) == stored)
            #expect(try await b.list(OperationQuery(tenant: "acme")).operations == [stored])
            #expect(try await a.consistencyProblems(logCap: 10) == [])
        }
    }

    @Test func readModifyWriteLosesNoUpdateAcrossNodes() async throws {
        try await withRedisNodes(2) { _, nodes in
            let op = Fixtures.operation(id: "op_counter", status: .inProgress)
            try await nodes[0].store.insert(op, completing: nil)
            let cap = 50
            // 20 writers, 10 per node, each appending 5 log lines one at a time, retrying on conflict.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<20 {
                    let store = nodes[writer % 2].store
                    group.addTask {
                        for line in 0..<5 {
                            while true {
                                let current = try #require(try await store.operation(op.ref))
                                let (action, lines) = try OperationStateMachine.appendLogs(
                                    ["w\(writer)-\(line)"], to: current, now: Fixtures.t0, cap: cap, maxLineBytes: 100)
                                do {
                                    try await store.replace(action.operation, expectedVersion: current.version, appending: lines, logCap: cap)
                                    break
                                } catch let error as OperationError where error.code == .conflict {
                                    continue
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let final = try #require(try await nodes[1].store.operation(op.ref))
            #expect(final.version == 101)
            #expect(final.logSequence == 100)
            #expect(final.droppedLogLines == 50)
            let page = try await nodes[1].store.logs(op.ref, after: 0, limit: 100)
            #expect(page.lines.map(\.sequence) == Array(51...100))
            #expect(Set(page.lines.map(\.text)).count == 50)
            #expect(try await nodes[0].store.consistencyProblems(logCap: cap) == [])
        }
    }

    @Test func idempotencyKeysAreSharedByEveryNode() async throws {
        try await withRedisNodes(2) { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            let key = IdempotencyKey(tenant: "acme", caller: "alice", key: "deploy-42")
            #expect(try await a.store.claimIdempotencyKey(key, fingerprint: "F", now: Fixtures.t0, ttl: 3600, lease: 60) == .claimed)
            #expect(try await b.store.claimIdempotencyKey(key, fingerprint: "F", now: Fixtures.t0, ttl: 3600, lease: 60) == .inFlight)
            #expect(try await b.store.claimIdempotencyKey(key, fingerprint: "G", now: Fixtures.t0, ttl: 3600, lease: 60) == .mismatch)
            let op = Fixtures.operation(id: "op_once")
            try await a.store.insert(op, completing: key)
            #expect(try await b.store.claimIdempotencyKey(key, fingerprint: "F", now: Fixtures.t0, ttl: 3600, lease: 60) == .replay(op))

            // Through the services: the second node answers the first node's operation.
            let idempotency = OperationService.Idempotency(key: "create-7", fingerprint: "body-hash")
            let first = try await a.service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "bob", idempotency: idempotency)
            let retry = try await b.service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "bob", idempotency: idempotency)
            #expect(!first.replayed)
            #expect(retry.replayed)
            #expect(retry.operation == first.operation)
            #expect(b.sink.events.isEmpty)
            #expect(try await a.store.consistencyProblems(logCap: 10) == [])
        }
    }
}

/// A deterministic random number generator (SplitMix64), so a failure can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
