import Foundation

/// Where operations, their logs and idempotency keys are kept: SQLite in the
/// data directory (`SQLiteOperationStore`), in memory (`MemoryOperationStore`,
/// for tests and tools), and Redis later (`RedisOperationStore`). Every
/// implementation runs the same contract suite (`OperationStoreContractTests`).
///
/// Contract:
/// - **Tenancy.** Every row carries its tenant; every read and write names
///   the tenant and never sees another tenant's rows. An operation of another
///   tenant is indistinguishable from a missing one.
/// - **Atomic compare-and-set.** `replace(_:expectedVersion:appending:logCap:)`
///   stores the new value, appends the log lines and trims the log in one
///   atomic step, and only if the stored version is still `expectedVersion`;
///   otherwise it throws `conflict` and changes nothing. `touch` and `delete`
///   are guarded by the version the same way. Together with `version` going
///   up by one per change this makes a read-modify-write safe against any
///   other writer, in this process or another. (The `OperationService` also
///   serialises changes of one operation in-process, so its events are
///   published in version order.)
/// - **Durability.** Once a write returns, it survives a crash of the process.
///   A crash in the middle of a write leaves either the old or the new state.
/// - **Logs.** Lines are stored with the sequence numbers the caller gives
///   (the state machine hands out `logSequence + 1…`; the version guard makes
///   them unique). After an append, only the last `logCap` sequence numbers
///   are kept (`sequence > logSequence - logCap`); older lines are deleted,
///   and the operation's `droppedLogLines` says how many. `logs(after:)` gives
///   lines with a greater sequence number, oldest first.
/// - **Lists.** `list` filters exactly as `OperationQuery.matches`, orders as
///   `OperationQuery.newestFirst` (newest first, ties by id descending), and
///   pages by offset: page `p` holds items `(p-1)*perPage ..< p*perPage` of that
///   order; `total` counts every match. Implementations index the filters.
/// - **Idempotency.** A key is scoped to (tenant, caller, key).
///   `claimIdempotencyKey` atomically: claims an unknown key (or one older
///   than `ttl`, or an in-flight claim older than `lease`, whose request is
///   presumed dead) → `claimed`; a key claimed with another fingerprint →
///   `mismatch`; a completed key → `replay` with the operation as first
///   created; an in-flight claim → `inFlight`. `insert(_:completing:)`
///   completes the claim in the same atomic step as the insert;
///   `releaseIdempotencyKey` gives up a claim whose request failed.
///   `purgeIdempotencyKeys(olderThan:)` deletes keys claimed before the date.
/// - **Liveness and retention.** `expiredHeartbeats(at:)` lists running
///   operations whose `heartbeatDeadline` is at or before the date;
///   `purgeFinished(before:limit:)` deletes terminal operations completed
///   before the date (with their logs) and returns them.
///
/// Errors thrown are `OperationError`: `conflict` for a failed version
/// guard, `notFound`, or `unavailable` for an I/O failure.
public protocol OperationStore: Sendable {
    /// Whether the store answers right now (for `/ready`): a cheap round trip, never throws.
    func isReady() async -> Bool

    /// Whether other processes write this store too (Redis shared by hub
    /// nodes). Then nothing read from it may be kept in memory.
    var isShared: Bool { get }

    /// Runs `body` (read, decide, publish, write one operation) while no
    /// other process changes `ref` through this store. The service already
    /// serialises the changes of one process (`KeyedLock`); a shared store
    /// extends that across processes, so that two nodes never both decide
    /// from the same version and publish events for a change only one of them
    /// can store. A store of one process runs `body` as it is.
    func withWriteLock<T>(_ ref: OperationRef, _ body: () async throws -> T) async throws -> T

    /// Inserts a new operation (its id must be new). With `completing`, the
    /// idempotency key claimed for it is completed in the same atomic step.
    func insert(_ operation: OperationRecord, completing key: IdempotencyKey?) async throws

    /// The operation, or `nil` when it does not exist in `tenant`.
    func operation(_ ref: OperationRef) async throws -> OperationRecord?

    func list(_ query: OperationQuery) async throws -> OperationPage

    /// Stores `operation` if the stored version is `expectedVersion`, appending
    /// `lines` and keeping at most the last `logCap` lines. Throws `conflict`
    /// (nothing changed) when the version moved, `notFound` when it is gone.
    func replace(_ operation: OperationRecord, expectedVersion: Int, appending lines: [LogLine], logCap: Int) async throws

    /// Records a heartbeat (only `lastHeartbeatAt`; the version stays), guarded by the version.
    func touch(_ ref: OperationRef, heartbeatAt: Date, expectedVersion: Int) async throws

    /// Deletes an operation and its logs, guarded by the version.
    func delete(_ ref: OperationRef, expectedVersion: Int) async throws

    /// Log lines with `sequence > after`, oldest first, at most `limit`.
    /// Throws `notFound` when the operation does not exist.
    func logs(_ ref: OperationRef, after: Int, limit: Int) async throws -> LogPage

    func claimIdempotencyKey(
        _ key: IdempotencyKey, fingerprint: String, now: Date, ttl: TimeInterval, lease: TimeInterval
    ) async throws -> IdempotencyClaim

    func releaseIdempotencyKey(_ key: IdempotencyKey) async throws

    /// Deletes idempotency keys claimed before `date`; returns how many.
    func purgeIdempotencyKeys(olderThan date: Date) async throws -> Int

    /// Running operations whose heartbeat deadline is at or before `now`, at most `limit`.
    func expiredHeartbeats(at now: Date, limit: Int) async throws -> [OperationRef]

    /// Deletes up to `limit` terminal operations completed before `date`; returns them.
    func purgeFinished(before date: Date, limit: Int) async throws -> [OperationRef]

    /// Every operation of every tenant, ordered by (tenant, id), after `cursor`,
    /// at most `limit`: used at start-up to refill the hub's entity directory.
    func scan(after cursor: OperationRef?, limit: Int) async throws -> [OperationRecord]
}
