import Foundation
@testable import Operations
import Synchronization

/// Where the `replace` calls of several stores meet: each call waits until
/// `parties` calls for the same operation have arrived, then all go on at
/// once. So the writers of a race have all read the same version before any
/// of them writes (the race is certain, not likely). Counts the outcomes.
final class Rendezvous: Sendable {
    struct Outcome: Sendable, Hashable {
        var stored = 0
        var conflicts = 0
        /// Writers that went on without meeting the others.
        var alone = 0
    }

    private struct State {
        var arrived: [OperationRef: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        var outcomes: [OperationRef: Outcome] = [:]
        var nextID: UInt64 = 0
    }

    let parties: Int
    /// How long a writer waits for the others before it goes on alone (and
    /// the test fails on the outcomes rather than hanging).
    let patience: Duration
    private let state = Mutex(State())

    init(parties: Int, patience: Duration = .seconds(10)) {
        self.parties = parties
        self.patience = patience
    }

    func meet(_ ref: OperationRef) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
                        state.arrived[ref, default: [:]][id] = continuation
                        guard state.arrived[ref]!.count >= self.parties else { return [] }
                        return Array((state.arrived.removeValue(forKey: ref) ?? [:]).values)
                    }
                    for waiter in ready { waiter.resume() }
                }
            }
            group.addTask {
                // Only a deadline: the writers normally meet long before.
                try? await Task.sleep(for: self.patience)
                let alone = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                    guard let waiter = state.arrived[ref]?.removeValue(forKey: id) else { return nil }
                    state.outcomes[ref, default: Outcome()].alone += 1
                    return waiter
                }
                alone?.resume()
            }
            await group.next()
            group.cancelAll()
        }
    }

    func record(_ ref: OperationRef, stored: Bool) {
        state.withLock { state in
            if stored { state.outcomes[ref, default: Outcome()].stored += 1 } else { state.outcomes[ref, default: Outcome()].conflicts += 1 }
        }
    }

    var outcomes: [OperationRef: Outcome] { state.withLock { $0.outcomes } }
}

/// A store whose `replace` meets the other writers first (`Rendezvous`);
/// everything else goes straight to `base`.
final class RendezvousStore: OperationStore {
    let base: any OperationStore
    let rendezvous: Rendezvous

    init(_ base: any OperationStore, rendezvous: Rendezvous) {
        self.base = base
        self.rendezvous = rendezvous
    }

    func replace(_ operation: OperationRecord, expectedVersion: Int, appending lines: [LogLine], logCap: Int) async throws {
        await rendezvous.meet(operation.ref)
        do {
            try await base.replace(operation, expectedVersion: expectedVersion, appending: lines, logCap: logCap)
            rendezvous.record(operation.ref, stored: true)
        } catch let error as OperationError where error.code == .conflict {
            rendezvous.record(operation.ref, stored: false)
            throw error
        }
    }

    func isReady() async -> Bool { await base.isReady() }
    func insert(_ operation: OperationRecord, completing key: IdempotencyKey?) async throws {
        try await base.insert(operation, completing: key)
    }
    func operation(_ ref: OperationRef) async throws -> OperationRecord? { try await base.operation(ref) }
    func list(_ query: OperationQuery) async throws -> OperationPage { try await base.list(query) }
    func touch(_ ref: OperationRef, heartbeatAt: Date, expectedVersion: Int) async throws {
        try await base.touch(ref, heartbeatAt: heartbeatAt, expectedVersion: expectedVersion)
    }
    func delete(_ ref: OperationRef, expectedVersion: Int) async throws { try await base.delete(ref, expectedVersion: expectedVersion) }
    func logs(_ ref: OperationRef, after: Int, limit: Int) async throws -> LogPage { try await base.logs(ref, after: after, limit: limit) }
    func claimIdempotencyKey(
        _ key: IdempotencyKey, fingerprint: String, now: Date, ttl: TimeInterval, lease: TimeInterval
    ) async throws -> IdempotencyClaim {
        try await base.claimIdempotencyKey(key, fingerprint: fingerprint, now: now, ttl: ttl, lease: lease)
    }
    func releaseIdempotencyKey(_ key: IdempotencyKey) async throws { try await base.releaseIdempotencyKey(key) }
    func purgeIdempotencyKeys(olderThan date: Date) async throws -> Int { try await base.purgeIdempotencyKeys(olderThan: date) }
    func expiredHeartbeats(at now: Date, limit: Int) async throws -> [OperationRef] {
        try await base.expiredHeartbeats(at: now, limit: limit)
    }
    func purgeFinished(before date: Date, limit: Int) async throws -> [OperationRef] {
        try await base.purgeFinished(before: date, limit: limit)
    }
    func scan(after cursor: OperationRef?, limit: Int) async throws -> [OperationRecord] {
        try await base.scan(after: cursor, limit: limit)
    }
}
