import Foundation
@testable import Operations
import Protocol
import Testing

/// The contract of `OperationStore` (its doc comment), run against every
/// implementation. A new store is added to `StoreKind` and must pass unchanged.
@Suite("OperationStore contract")
struct OperationStoreContractTests {
    @Test(arguments: StoreKind.allCases)
    func aWorkingStoreIsReady(kind: StoreKind) async throws {
        let store = try kind.make()
        #expect(await store.isReady())
    }

    @Test(arguments: StoreKind.allCases)
    func insertReadAndTenantIsolation(kind: StoreKind) async throws {
        let store = try kind.make()
        let op = Fixtures.operation(id: "op_a")
        try await store.insert(op, completing: nil)
        #expect(try await store.operation(op.ref) == op)
        #expect(try await store.operation(OperationRef(tenant: "other", id: "op_a")) == nil)
        #expect(try await store.operation(OperationRef(tenant: "acme", id: "op_missing")) == nil)
        await #expect(throws: OperationError.self) { try await store.insert(op, completing: nil) }
        // The same id in another tenant is another operation.
        let theirs = Fixtures.operation(id: "op_a", tenant: "other")
        try await store.insert(theirs, completing: nil)
        #expect(try await store.operation(op.ref) == op)
        #expect(try await store.operation(theirs.ref) == theirs)
    }

    @Test(arguments: StoreKind.allCases)
    func replaceIsACompareAndSetOnTheVersion(kind: StoreKind) async throws {
        let store = try kind.make()
        let op = Fixtures.operation(id: "op_cas")
        try await store.insert(op, completing: nil)
        var next = op
        next.version = 2
        next.progress = 10
        try await store.replace(next, expectedVersion: 1, appending: [], logCap: 10)
        var stale = op
        stale.version = 2
        stale.progress = 99
        do {
            try await store.replace(stale, expectedVersion: 1, appending: [], logCap: 10)
            Issue.record("a stale write was accepted")
        } catch let error as OperationError {
            #expect(error.code == .conflict)
        }
        #expect(try await store.operation(op.ref) == next)
        do {
            try await store.replace(Fixtures.operation(id: "op_nope"), expectedVersion: 1, appending: [], logCap: 10)
            Issue.record("replace of a missing operation was accepted")
        } catch let error as OperationError {
            #expect(error.code == .notFound)
        }
        // touch and delete are guarded the same way.
        await #expect(throws: OperationError.self) { try await store.touch(op.ref, heartbeatAt: Fixtures.t0, expectedVersion: 1) }
        await #expect(throws: OperationError.self) { try await store.delete(op.ref, expectedVersion: 1) }
        let beat = Fixtures.t0.addingTimeInterval(9)
        try await store.touch(op.ref, heartbeatAt: beat, expectedVersion: 2)
        let touched = try #require(try await store.operation(op.ref))
        #expect(touched.lastHeartbeatAt == beat)
        #expect(touched.version == 2)
        try await store.delete(op.ref, expectedVersion: 2)
        #expect(try await store.operation(op.ref) == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentCompareAndSetLetsExactlyOneWin(kind: StoreKind) async throws {
        let store = try kind.make()
        let op = Fixtures.operation(id: "op_race")
        try await store.insert(op, completing: nil)
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for writer in 0..<20 {
                group.addTask {
                    var next = op
                    next.version = 2
                    next.message = "writer \(writer)"
                    do {
                        try await store.replace(next, expectedVersion: 1, appending: [], logCap: 10)
                        return true
                    } catch let error as OperationError where error.code == .conflict {
                        return false
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
    }

    @Test(arguments: StoreKind.allCases)
    func listFiltersOrdersAndPages(kind: StoreKind) async throws {
        let store = try kind.make()
        var made: [OperationRecord] = []
        for index in 0..<12 {
            let op = Fixtures.operation(
                id: "op_\(String(format: "%02d", index))", type: index % 2 == 0 ? "deploy" : "create_database",
                target: OperationTarget(kind: index % 3 == 0 ? "database" : "application", id: "t\(index % 4)"),
                teamID: index % 2 == 0 ? "frontend" : "backend", status: index < 4 ? .succeeded : .pending,
                // Two share a creation time: ties are broken by id, descending.
                createdAt: Fixtures.t0.addingTimeInterval(TimeInterval(index == 11 ? 10 : index)))
            made.append(op)
            try await store.insert(op, completing: nil)
        }
        try await store.insert(Fixtures.operation(id: "op_zz", tenant: "other"), completing: nil)
        let all = try await store.list(OperationQuery(tenant: "acme", perPage: 100))
        #expect(all.total == 12)
        #expect(all.operations.map(\.id) == made.sorted(by: OperationQuery.newestFirst).map(\.id))
        #expect(all.operations.first?.id == "op_11")

        let queries: [OperationQuery] = [
            OperationQuery(tenant: "acme", statuses: [.succeeded]),
            OperationQuery(tenant: "acme", statuses: [.succeeded, .pending], type: "deploy"),
            OperationQuery(tenant: "acme", targetKind: "database"),
            OperationQuery(tenant: "acme", targetKind: "application", targetID: "t1"),
            OperationQuery(tenant: "acme", teamID: "backend"),
            OperationQuery(tenant: "acme", visibleTeams: ["frontend"]),
            OperationQuery(tenant: "acme", visibleTeams: []),
            OperationQuery(tenant: "nobody"),
        ]
        for query in queries {
            var big = query
            big.perPage = 100
            let expected = made.filter(query.matches).sorted(by: OperationQuery.newestFirst).map(\.id)
            #expect(try await store.list(big).operations.map(\.id) == expected, "\(query)")
            #expect(try await store.list(big).total == expected.count)
        }
        var pages: [String] = []
        for page in 1...3 {
            let result = try await store.list(OperationQuery(tenant: "acme", page: page, perPage: 5))
            #expect(result.total == 12)
            pages += result.operations.map(\.id)
        }
        #expect(pages == all.operations.map(\.id))
        #expect(try await store.list(OperationQuery(tenant: "acme", page: 4, perPage: 5)).operations.isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func logsAreCappedWithDroppedLinesCounted(kind: StoreKind) async throws {
        let store = try kind.make()
        var op = Fixtures.operation(id: "op_logs", status: .inProgress)
        try await store.insert(op, completing: nil)
        let cap = 5
        for batch in 0..<4 {
            let texts = (0..<3).map { "line \(batch)-\($0)" }
            let (action, lines) = try OperationStateMachine.appendLogs(texts, to: op, now: Fixtures.t0, cap: cap, maxLineBytes: 100)
            try await store.replace(action.operation, expectedVersion: op.version, appending: lines, logCap: cap)
            op = action.operation
        }
        #expect(op.logSequence == 12)
        #expect(op.droppedLogLines == 7)
        let page = try await store.logs(op.ref, after: 0, limit: 100)
        #expect(page.lines.map(\.sequence) == [8, 9, 10, 11, 12])
        #expect(page.lines.first?.text == "line 2-1")
        #expect(page.dropped == 7)
        #expect(page.lastSequence == 12)
        #expect(page.gap)
        #expect(!page.hasMore)
        let after = try await store.logs(op.ref, after: 9, limit: 2)
        #expect(after.lines.map(\.sequence) == [10, 11])
        #expect(after.hasMore)
        #expect(!after.gap)
        #expect(try await store.logs(op.ref, after: 12, limit: 10).lines.isEmpty)
        await #expect(throws: OperationError.self) { try await store.logs(OperationRef(tenant: "other", id: "op_logs"), after: 0, limit: 10) }
        try await store.delete(op.ref, expectedVersion: op.version)
        await #expect(throws: OperationError.self) { try await store.logs(op.ref, after: 0, limit: 10) }
    }

    @Test(arguments: StoreKind.allCases)
    func idempotencyKeys(kind: StoreKind) async throws {
        let store = try kind.make()
        let key = IdempotencyKey(tenant: "acme", caller: "alice", key: "k1")
        let now = Fixtures.t0
        let day: TimeInterval = 86_400
        #expect(try await store.claimIdempotencyKey(key, fingerprint: "A", now: now, ttl: day, lease: 60) == .claimed)
        #expect(try await store.claimIdempotencyKey(key, fingerprint: "A", now: now, ttl: day, lease: 60) == .inFlight)
        #expect(try await store.claimIdempotencyKey(key, fingerprint: "B", now: now, ttl: day, lease: 60) == .mismatch)
        // Scoped to tenant and caller.
        let bob = IdempotencyKey(tenant: "acme", caller: "bob", key: "k1")
        #expect(try await store.claimIdempotencyKey(bob, fingerprint: "B", now: now, ttl: day, lease: 60) == .claimed)
        let other = IdempotencyKey(tenant: "other", caller: "alice", key: "k1")
        #expect(try await store.claimIdempotencyKey(other, fingerprint: "B", now: now, ttl: day, lease: 60) == .claimed)

        let op = Fixtures.operation(id: "op_idem")
        try await store.insert(op, completing: key)
        #expect(try await store.claimIdempotencyKey(key, fingerprint: "A", now: now.addingTimeInterval(3600), ttl: day, lease: 60) == .replay(op))
        #expect(try await store.claimIdempotencyKey(key, fingerprint: "B", now: now, ttl: day, lease: 60) == .mismatch)
        // Kept for the TTL only.
        #expect(try await store.claimIdempotencyKey(key, fingerprint: "B", now: now.addingTimeInterval(day + 1), ttl: day, lease: 60) == .claimed)

        // A claim whose request died is given up after the lease; a released claim at once.
        #expect(try await store.claimIdempotencyKey(bob, fingerprint: "B", now: now.addingTimeInterval(61), ttl: day, lease: 60) == .claimed)
        try await store.releaseIdempotencyKey(other)
        #expect(try await store.claimIdempotencyKey(other, fingerprint: "C", now: now, ttl: day, lease: 60) == .claimed)

        #expect(try await store.purgeIdempotencyKeys(olderThan: now.addingTimeInterval(1)) == 1)  // `other`, claimed at now
        #expect(try await store.claimIdempotencyKey(other, fingerprint: "D", now: now, ttl: day, lease: 60) == .claimed)
    }

    @Test(arguments: StoreKind.allCases)
    func heartbeatDeadlinesAndRetention(kind: StoreKind) async throws {
        let store = try kind.make()
        let running = Fixtures.operation(id: "op_run", status: .inProgress)  // deadline t0 + 30
        let pending = Fixtures.operation(id: "op_pend", status: .pending)
        var quiet = Fixtures.operation(id: "op_quiet", status: .inProgress)
        quiet.heartbeatTimeoutSeconds = nil
        let old = Fixtures.operation(id: "op_old", status: .succeeded, createdAt: Fixtures.t0)
        let recent = Fixtures.operation(id: "op_new", status: .failed, createdAt: Fixtures.t0.addingTimeInterval(100))
        for op in [running, pending, quiet, old, recent] { try await store.insert(op, completing: nil) }
        #expect(try await store.expiredHeartbeats(at: Fixtures.t0.addingTimeInterval(29), limit: 10).isEmpty)
        #expect(try await store.expiredHeartbeats(at: Fixtures.t0.addingTimeInterval(30), limit: 10) == [running.ref])
        try await store.touch(running.ref, heartbeatAt: Fixtures.t0.addingTimeInterval(20), expectedVersion: 1)
        #expect(try await store.expiredHeartbeats(at: Fixtures.t0.addingTimeInterval(30), limit: 10).isEmpty)
        #expect(try await store.expiredHeartbeats(at: Fixtures.t0.addingTimeInterval(50), limit: 10) == [running.ref])

        #expect(try await store.purgeFinished(before: Fixtures.t0, limit: 10).isEmpty)
        #expect(try await store.purgeFinished(before: Fixtures.t0.addingTimeInterval(50), limit: 10) == [old.ref])
        #expect(try await store.operation(old.ref) == nil)
        #expect(try await store.operation(recent.ref) != nil)
        #expect(try await store.operation(running.ref) != nil)
        let scanned = try await store.scan(after: nil, limit: 2)
        let rest = try await store.scan(after: scanned.last?.ref, limit: 10)
        #expect((scanned + rest).map(\.id) == ["op_new", "op_pend", "op_quiet", "op_run"])
    }
}
