import Foundation
@testable import Operations

/// A store that runs hooks around some calls of `base` (and forwards everything).
final class HookedStore: OperationStore {
    let base: any OperationStore
    /// Before each `replace`.
    let beforeReplace: @Sendable (OperationRef) async -> Void
    /// After each `replace`: true when it stored, false when its version guard lost.
    let afterReplace: @Sendable (OperationRef, Bool) -> Void
    /// After each successful `operation(_:)` read.
    let afterRead: @Sendable (OperationRef) -> Void
    /// Before each `withWriteLock` (before the lock is taken).
    let beforeWriteLock: @Sendable (OperationRef) async -> Void

    init(
        _ base: any OperationStore, beforeReplace: @escaping @Sendable (OperationRef) async -> Void = { _ in },
        afterReplace: @escaping @Sendable (OperationRef, Bool) -> Void = { _, _ in },
        afterRead: @escaping @Sendable (OperationRef) -> Void = { _ in }, shared: Bool? = nil,
        beforeWriteLock: @escaping @Sendable (OperationRef) async -> Void = { _ in }
    ) {
        self.sharedOverride = shared
        self.beforeWriteLock = beforeWriteLock
        self.base = base
        self.beforeReplace = beforeReplace
        self.afterReplace = afterReplace
        self.afterRead = afterRead
    }

    /// Set to pretend the store is (or is not) shared with other processes.
    let sharedOverride: Bool?
    var isShared: Bool { sharedOverride ?? base.isShared }

    func withWriteLock<T>(_ ref: OperationRef, _ body: () async throws -> T) async throws -> T {
        await beforeWriteLock(ref)
        return try await base.withWriteLock(ref, body)
    }

    /// A store whose writers meet at `rendezvous` before each `replace`, which counts the outcomes.
    convenience init(_ base: any OperationStore, rendezvous: Rendezvous) {
        self.init(
            base, beforeReplace: { await rendezvous.meet($0) }, afterReplace: { rendezvous.record($0, stored: $1) })
    }

    func replace(_ operation: OperationRecord, expectedVersion: Int, appending lines: [LogLine], logCap: Int) async throws {
        await beforeReplace(operation.ref)
        do {
            try await base.replace(operation, expectedVersion: expectedVersion, appending: lines, logCap: logCap)
            afterReplace(operation.ref, true)
        } catch let error as OperationError where error.code == .conflict {
            afterReplace(operation.ref, false)
            throw error
        }
    }

    func operation(_ ref: OperationRef) async throws -> OperationRecord? {
        let op = try await base.operation(ref)
        afterRead(ref)
        return op
    }

    func isReady() async -> Bool { await base.isReady() }
    func insert(_ operation: OperationRecord, completing key: IdempotencyKey?) async throws {
        try await base.insert(operation, completing: key)
    }
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
