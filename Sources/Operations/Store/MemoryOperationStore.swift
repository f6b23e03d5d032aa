import Foundation
import Synchronization

/// An `OperationStore` in this process's memory: every call is one step
/// under one lock, which makes each atomic. Nothing survives the process;
/// for tests and tools, and the reference the contract suite checks others against.
public final class MemoryOperationStore: OperationStore {
    struct IdempotencyEntry {
        var fingerprint: String
        var claimedAt: Date
        var operation: OperationRecord?
    }

    struct State {
        var operations: [OperationRef: OperationRecord] = [:]
        var logs: [OperationRef: [LogLine]] = [:]
        var keys: [IdempotencyKey: IdempotencyEntry] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// This process only.
    public var isShared: Bool { false }

    /// This process only: the service's own lock suffices.
    public func withWriteLock<T>(_ ref: OperationRef, _ body: () async throws -> T) async throws -> T { try await body() }

    public func insert(_ operation: OperationRecord, completing key: IdempotencyKey?) async throws {
        try state.withLock { state throws(OperationError) in
            guard state.operations[operation.ref] == nil else {
                throw OperationError(.conflict, "operation \(operation.id) already exists")
            }
            state.operations[operation.ref] = operation
            state.logs[operation.ref] = []
            if let key, var entry = state.keys[key] {
                entry.operation = operation
                state.keys[key] = entry
            }
        }
    }

    public func isReady() async -> Bool { true }

    public func operation(_ ref: OperationRef) async throws -> OperationRecord? {
        state.withLock { $0.operations[ref] }
    }

    public func list(_ query: OperationQuery) async throws -> OperationPage {
        let matching = state.withLock { state in
            state.operations.values.filter(query.matches).sorted(by: OperationQuery.newestFirst)
        }
        let start = min(max(query.page - 1, 0) * query.perPage, matching.count)
        let page = Array(matching[start..<min(start + query.perPage, matching.count)])
        return OperationPage(operations: page, total: matching.count, page: query.page, perPage: query.perPage)
    }

    public func replace(_ operation: OperationRecord, expectedVersion: Int, appending lines: [LogLine], logCap: Int) async throws {
        try state.withLock { state throws(OperationError) in
            let ref = operation.ref
            guard let current = state.operations[ref] else { throw .notFound(operation.id) }
            guard current.version == expectedVersion else {
                throw OperationError(.conflict, "operation \(operation.id) changed (version \(current.version))")
            }
            state.operations[ref] = operation
            var log = (state.logs[ref] ?? []) + lines
            let keepAfter = operation.logSequence - max(logCap, 0)
            log.removeAll { $0.sequence <= keepAfter }
            state.logs[ref] = log
        }
    }

    public func touch(_ ref: OperationRef, heartbeatAt: Date, expectedVersion: Int) async throws {
        try state.withLock { state throws(OperationError) in
            guard var current = state.operations[ref] else { throw .notFound(ref.id) }
            guard current.version == expectedVersion else {
                throw OperationError(.conflict, "operation \(ref.id) changed (version \(current.version))")
            }
            current.lastHeartbeatAt = heartbeatAt
            state.operations[ref] = current
        }
    }

    public func delete(_ ref: OperationRef, expectedVersion: Int) async throws {
        try state.withLock { state throws(OperationError) in
            guard let current = state.operations[ref] else { throw .notFound(ref.id) }
            guard current.version == expectedVersion else {
                throw OperationError(.conflict, "operation \(ref.id) changed (version \(current.version))")
            }
            state.operations[ref] = nil
            state.logs[ref] = nil
        }
    }

    public func logs(_ ref: OperationRef, after: Int, limit: Int) async throws -> LogPage {
        try state.withLock { state throws(OperationError) in
            guard let op = state.operations[ref] else { throw .notFound(ref.id) }
            let available = (state.logs[ref] ?? []).filter { $0.sequence > after }
            let lines = Array(available.prefix(max(limit, 0)))
            return LogPage(
                lines: lines, lastSequence: op.logSequence, dropped: op.droppedLogLines,
                gap: after < op.droppedLogLines, hasMore: available.count > lines.count)
        }
    }

    public func claimIdempotencyKey(
        _ key: IdempotencyKey, fingerprint: String, now: Date, ttl: TimeInterval, lease: TimeInterval
    ) async throws -> IdempotencyClaim {
        state.withLock { state in
            if let entry = state.keys[key], entry.claimedAt > now.addingTimeInterval(-ttl) {
                if entry.fingerprint != fingerprint { return .mismatch }
                if let operation = entry.operation { return .replay(operation) }
                if entry.claimedAt > now.addingTimeInterval(-lease) { return .inFlight }
            }
            state.keys[key] = IdempotencyEntry(fingerprint: fingerprint, claimedAt: now, operation: nil)
            return .claimed
        }
    }

    public func releaseIdempotencyKey(_ key: IdempotencyKey) async throws {
        state.withLock { state in
            if state.keys[key]?.operation == nil { state.keys[key] = nil }
        }
    }

    public func purgeIdempotencyKeys(olderThan date: Date) async throws -> Int {
        state.withLock { state in
            let old = state.keys.filter { $0.value.claimedAt < date }.map(\.key)
            for key in old { state.keys[key] = nil }
            return old.count
        }
    }

    public func expiredHeartbeats(at now: Date, limit: Int) async throws -> [OperationRef] {
        state.withLock { state in
            Array(
                state.operations.values.filter { op in op.heartbeatDeadline.map { $0 <= now } ?? false }
                    .sorted { ($0.heartbeatDeadline!, $0.id) < ($1.heartbeatDeadline!, $1.id) }
                    .prefix(limit).map(\.ref))
        }
    }

    public func purgeFinished(before date: Date, limit: Int) async throws -> [OperationRef] {
        state.withLock { state in
            let old = state.operations.values
                .filter { op in op.status.isTerminal && (op.completedAt.map { $0 < date } ?? false) }
                .sorted { ($0.completedAt!, $0.id) < ($1.completedAt!, $1.id) }
                .prefix(limit).map(\.ref)
            for ref in old {
                state.operations[ref] = nil
                state.logs[ref] = nil
            }
            return Array(old)
        }
    }

    public func scan(after cursor: OperationRef?, limit: Int) async throws -> [OperationRecord] {
        state.withLock { state in
            Array(
                state.operations.values
                    .filter { op in cursor.map { (op.tenant, op.id) > ($0.tenant, $0.id) } ?? true }
                    .sorted { ($0.tenant, $0.id) < ($1.tenant, $1.id) }
                    .prefix(limit))
        }
    }
}
