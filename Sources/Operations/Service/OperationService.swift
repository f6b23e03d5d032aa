import Foundation
import Logging
import NIOCore
import NIOPosix
import Protocol

/// The operations capability without HTTP: creates, changes and reads
/// operations through the state machine, the store and the event sink.
///
/// Every change of one operation runs under that operation's lock (and, with
/// a store shared by several nodes, the store's write lock: ``OperationStore/withWriteLock(_:_:)``): read the
/// current value, decide (`OperationStateMachine`), publish the events, then
/// store the new value with the offset of its last event, guarded by the old
/// version. So events are published in version order, and the stored
/// `offset` always belongs to the stored version: a client that reads an
/// operation and subscribes with `since` = its offset misses nothing and sees
/// nothing twice. (Publishing before storing means a failed store write after
/// a successful publish leaves an event for a change that was not kept; the
/// request fails with `unavailable` and the next change supersedes it.)
///
/// Errors thrown are `OperationError`.
public final class OperationService: Sendable {
    public let store: any OperationStore
    public let clock: any OperationClock
    public let settings: OperationSettings
    let events: any OperationEventSink
    let logger: Logger
    let locks = KeyedLock<OperationRef>()
    let notifier = ChangeNotifier()
    /// Reads served from memory (off for a shared store: see ``OperationCache``).
    let cache: OperationCache
    /// Where the deadlines of ``waitForChange(_:from:seconds:)`` are timed.
    let timerLoops: any EventLoopGroup

    public init(
        store: any OperationStore, events: any OperationEventSink, clock: any OperationClock = SystemClock(),
        settings: OperationSettings = OperationSettings(), timerLoops: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.store = store
        self.timerLoops = timerLoops
        self.events = events
        self.clock = clock
        self.settings = settings
        self.logger = logger
        self.cache = OperationCache(capacity: store.isShared ? 0 : settings.cacheSize)
    }

    /// The current time at the precision operations keep.
    var now: Date { clock.now().millisecondPrecision }

    // MARK: Creating

    /// A request's idempotency key and the fingerprint of its body.
    public struct Idempotency: Sendable, Hashable {
        public var key: String
        public var fingerprint: String

        public init(key: String, fingerprint: String) {
            self.key = key
            self.fingerprint = fingerprint
        }
    }

    public struct Created: Sendable, Hashable {
        public var operation: OperationRecord
        /// True when this is the stored answer of an earlier request with the same idempotency key.
        public var replayed: Bool
    }

    /// Creates a pending operation and publishes `created`.
    public func create(
        _ new: NewOperation, tenant: String, createdBy: String, idempotency: Idempotency? = nil
    ) async throws -> Created {
        var op = try OperationStateMachine.create(
            new, id: OperationRecord.makeID(), tenant: tenant, createdBy: createdBy, now: now,
            defaultHeartbeatTimeout: settings.defaultHeartbeatTimeoutSeconds)
        var claimed: IdempotencyKey?
        if let idempotency {
            let key = IdempotencyKey(tenant: tenant, caller: createdBy, key: idempotency.key)
            let claim = try await store.claimIdempotencyKey(
                key, fingerprint: idempotency.fingerprint, now: now, ttl: TimeInterval(settings.idempotencyKeyTTLSeconds),
                lease: TimeInterval(settings.idempotencyLeaseSeconds))
            switch claim {
            case .claimed: claimed = key
            case .replay(let first): return Created(operation: first, replayed: true)
            case .inFlight:
                throw OperationError(.conflict, "the first request with this Idempotency-Key is still in flight")
            case .mismatch:
                throw OperationError(.unprocessable, "this Idempotency-Key was used with a different request body")
            }
        }
        do {
            try await recordEntities(op)
            let published = try await publish(
                OperationEvents.drafts(for: op, events: [.created], previous: nil, now: op.createdAt))
            op.offset = Self.lastOffset(published, of: op)
            try await store.insert(op, completing: claimed)
            cache.put(op)
        } catch {
            if let claimed { try? await store.releaseIdempotencyKey(claimed) }
            throw Self.wrap(error)
        }
        notifier.notify(op.ref)
        logger.debug("operation created", metadata: ["hub.operation.id": "\(op.id)", "hub.operation.type": "\(op.type)"])
        return Created(operation: op, replayed: false)
    }

    // MARK: Reading

    public func operation(_ ref: OperationRef) async throws -> OperationRecord {
        guard OperationRecord.isValidID(ref.id) else { throw OperationError.notFound(ref.id) }
        guard let op = try await read(ref) else { throw OperationError.notFound(ref.id) }
        return op
    }

    /// The operation when the read cache holds it (nil: ask ``operation(_:)``), without waiting.
    public func cachedOperation(_ ref: OperationRef) -> OperationRecord? {
        guard cache.isEnabled else { return nil }
        return cache.lookup(ref).record
    }

    /// The operation from the cache, or from the store (then cached).
    func read(_ ref: OperationRef) async throws -> OperationRecord? {
        guard cache.isEnabled else { return try await store.operation(ref) }
        let (cached, generation) = cache.lookup(ref)
        if let cached { return cached }
        guard let op = try await store.operation(ref) else { return nil }
        cache.fill(op, generation: generation)
        return op
    }

    public func list(_ query: OperationQuery) async throws -> OperationPage {
        try await store.list(query)
    }

    public func logs(_ ref: OperationRef, after: Int, limit: Int) async throws -> LogPage {
        guard OperationRecord.isValidID(ref.id) else { throw OperationError.notFound(ref.id) }
        return try await store.logs(ref, after: after, limit: limit)
    }

    // MARK: Changing

    /// Applies a worker's report. `ifMatch`: the version the caller saw (412 when stale).
    public func update(_ ref: OperationRef, _ update: OperationUpdate, ifMatch: Int? = nil) async throws -> OperationRecord {
        try await change(ref, ifMatch: ifMatch) { op, now throws(OperationError) in
            (try OperationStateMachine.apply(update, to: op, now: now), [])
        }
    }

    /// Cancels a pending operation, or asks the worker of a running one to stop (idempotent).
    public func cancel(_ ref: OperationRef, requestedBy subject: String, ifMatch: Int? = nil) async throws -> OperationRecord {
        try await change(ref, ifMatch: ifMatch) { op, now throws(OperationError) in
            (try OperationStateMachine.requestCancel(op, by: subject, now: now), [])
        }
    }

    /// Appends log lines; returns the operation and the lines with their sequence numbers.
    public func appendLogs(_ ref: OperationRef, _ texts: [String]) async throws -> (operation: OperationRecord, lines: [LogLine]) {
        let cap = settings.logLinesPerOperation
        let maxBytes = settings.maxLogLineBytes
        var appended: [LogLine] = []
        let op = try await change(ref, ifMatch: nil) { op, now throws(OperationError) in
            let (action, lines) = try OperationStateMachine.appendLogs(texts, to: op, now: now, cap: cap, maxLineBytes: maxBytes)
            appended = lines
            return (action, lines)
        }
        return (op, appended)
    }

    /// Deletes a terminal operation (a running one: `conflict`).
    public func delete(_ ref: OperationRef, ifMatch: Int? = nil) async throws {
        guard OperationRecord.isValidID(ref.id) else { throw OperationError.notFound(ref.id) }
        try await locks.withLock(ref) {
            try await store.withWriteLock(ref) {
                guard let current = try await store.operation(ref) else { throw OperationError.notFound(ref.id) }
                try Self.check(ifMatch, current)
                guard current.status.isTerminal else {
                    throw OperationError(.conflict, "operation is \(current.status); only finished operations can be deleted")
                }
                try await store.delete(ref, expectedVersion: current.version)
                cache.remove(ref)
            }
        }
        notifier.notify(ref)
    }

    /// The one path of every change: lock, read, decide, publish, store, notify.
    func change(
        _ ref: OperationRef, ifMatch: Int?,
        _ decide: (OperationRecord, Date) throws(OperationError) -> (OperationStateMachine.Action, [LogLine])
    ) async throws -> OperationRecord {
        try await changeCommitting(ref, ifMatch: ifMatch, decide).operation
    }

    /// `change`, telling whether this call committed a new version (false:
    /// nothing to change, or only a heartbeat).
    func changeCommitting(
        _ ref: OperationRef, ifMatch: Int?,
        _ decide: (OperationRecord, Date) throws(OperationError) -> (OperationStateMachine.Action, [LogLine])
    ) async throws -> (operation: OperationRecord, committed: Bool) {
        guard OperationRecord.isValidID(ref.id) else { throw OperationError.notFound(ref.id) }
        let result = try await locks.withLock(ref) { () async throws -> (OperationRecord, Bool) in
            try await store.withWriteLock(ref) { () async throws -> (OperationRecord, Bool) in
                guard let current = try await store.operation(ref) else { throw OperationError.notFound(ref.id) }
                try Self.check(ifMatch, current)
                let (action, lines) = try decide(current, now)
                switch action {
                case .unchanged(let op):
                    return (op, false)
                case .heartbeat(let op):
                    try await store.touch(ref, heartbeatAt: op.lastHeartbeatAt ?? now, expectedVersion: current.version)
                    cache.put(op)
                    return (op, false)
                case .commit(var op, let kinds):
                    let drafts = OperationEvents.drafts(for: op, events: kinds, previous: current, lines: lines, now: op.updatedAt)
                    let published = try await publish(drafts)
                    op.offset = Self.lastOffset(published, of: op) ?? current.offset
                    do {
                        try await store.replace(
                            op, expectedVersion: current.version, appending: lines, logCap: settings.logLinesPerOperation)
                    } catch {
                        logger.error(
                            "operation change published but not stored",
                            metadata: ["hub.operation.id": "\(op.id)", "hub.operation.version": "\(op.version)", "hub.error": "\(error)"])
                        throw Self.wrap(error)
                    }
                    cache.put(op)
                    return (op, true)
                }
            }
        }
        if result.1 { notifier.notify(ref) }
        return (result.0, result.1)
    }

    static func check(_ ifMatch: Int?, _ current: OperationRecord) throws {
        if let ifMatch, ifMatch != current.version {
            throw OperationError(.preconditionFailed, "operation is at version \(current.version), not \(ifMatch)")
        }
    }

    // MARK: Events

    func publish(_ drafts: [EventDraft]) async throws -> [Event] {
        do {
            return try await events.publish(drafts)
        } catch {
            throw OperationError.unavailable("cannot publish the operation's events: \(error)")
        }
    }

    /// The operation and (when it names a team) its target in the entity directory.
    func recordEntities(_ op: OperationRecord) async throws {
        do {
            try await events.recordEntity(OperationRecord.entity(op.id), tenant: op.tenant, teamID: op.teamID)
            if let team = op.teamID {
                try await events.recordEntity(EntityRef(family: op.target.kind, id: op.target.id), tenant: op.tenant, teamID: team)
            }
        } catch {
            throw OperationError.unavailable("cannot record the operation's team: \(error)")
        }
    }

    static func lastOffset(_ events: [Event], of op: OperationRecord) -> Offset? {
        events.last { $0.topic == op.progressTopic }?.offset
    }

    static func wrap(_ error: any Error) -> OperationError {
        (error as? OperationError) ?? .unavailable("\(error)")
    }
}
