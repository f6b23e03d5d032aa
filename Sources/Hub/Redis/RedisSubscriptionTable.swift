import Protocol

/// What one node's Redis subscriber must listen to, and how far this node
/// has delivered each exact topic: the pure state of ``RedisEventBus``'s
/// subscriptions (no I/O; the bus performs what it returns).
///
/// - **Reference counts.** Every `attach` of a target takes one reference,
///   every `detach` releases one. A target is subscribed in Redis while it
///   has references (or waiters), and unsubscribed when the last goes.
/// - **Confirmation.** An attach returns once every target it names is
///   confirmed by Redis, so a history read after it cannot miss an event:
///   whatever is published later reaches this node live. Not only the first
///   attach of a target waits: a later one waits for the same confirmation
///   while it is in flight.
/// - **Serial changes.** ``nextBatch()`` hands out one (un)subscribe batch at
///   a time to a single pump; a target's subscribe and unsubscribe therefore
///   reach the subscriber in the order they were decided, whatever the
///   interleaving of attach and detach calls.
/// - **Waiters** are opaque (`Waiter`: a continuation in the bus, anything
///   in tests): the table says whom to resume with what.
/// - **Cursors.** For each exact topic the offset of the last event this
///   node delivered (or of the sync marker published right after it was
///   confirmed), to fill a gap after the subscriber reconnects, and to drop
///   copies of events already delivered.
struct RedisSubscriptionTable<Waiter> {
    enum Target: Hashable, Sendable {
        /// A concrete topic: `SUBSCRIBE` its channel.
        case exact(TopicKey)
        /// A wildcard subscription of a tenant: `PSUBSCRIBE` its glob.
        case pattern(TopicKey)
        /// An observer of a topic (or pattern) in every tenant: `PSUBSCRIBE`.
        case observer(Topic)

        var isChannel: Bool {
            if case .exact = self { return true }
            return false
        }
    }

    struct Entry {
        var refs = 0
        /// Waiters that wait for this target's confirmation.
        var waiting = 0
        /// In the subscriber's set: subscribed (or being), not unsubscribed since.
        var requested = false
        /// Redis confirmed it and no unsubscribe was decided since: messages flow.
        var confirmed = false
        /// Part of the batch being performed.
        var inFlight = false
        /// Its subscribe failed because the subscriber is disconnected: the
        /// name is in the subscriber's set and is confirmed when it is back
        /// (`.connected`/`.resubscribed`); not sent again meanwhile.
        var parked = false
        /// Exact targets: the last offset delivered, or the position of the last sync marker.
        var cursor: Offset?
    }

    struct Pending {
        var remaining: Set<Target>
        var continuation: Waiter
    }

    enum Batch: Equatable {
        case subscribe([Target])
        case unsubscribe([Target])
    }

    /// An observer of incoming events (see ``RedisEventBus/observe(_:_:)``).
    struct Observer {
        var topic: Topic
        var handler: @Sendable (BusObservation) -> Void
    }

    /// What to do after the subscriber reconnected.
    struct RecoveryPlan {
        /// Exact topics to read after their cursor (nil: unknown, close their sessions).
        var exact: [(key: TopicKey, cursor: Offset?)] = []
        /// Wildcard subscriptions: they cannot be recovered, close their sessions.
        var patterns: [TopicKey] = []
        var resumed: [(Waiter, Result<Void, HubError>)] = []
        /// Exact topics confirmed only now (they were parked): they need a sync marker.
        var needSync: [TopicKey] = []
    }

    private(set) var entries: [Target: Entry] = [:]
    private var waiters: [UInt64: Pending] = [:]
    private var nextID: UInt64 = 0
    /// Between a lost subscriber connection and the end of the recovery:
    /// live messages are dropped (the recovery reads them from the streams).
    private(set) var interrupted = false
    private(set) var stopped = false
    private(set) var observers: [UInt64: Observer] = [:]
    /// The channel and offset of the last message: Redis sends one message
    /// once per matching subscription (channel and patterns), back to back.
    private var lastMessage: (channel: String, offset: Offset)?
    /// Waiting for the pump to run out of work (``RedisEventBus/subscriptionsSettled()``).
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []

    mutating func makeID() -> UInt64 {
        nextID += 1
        return nextID
    }

    // MARK: - Attach and detach

    /// Takes one reference on each target; true when all are confirmed already.
    mutating func attach(_ targets: [Target]) -> Bool {
        var ready = true
        for target in targets {
            entries[target, default: Entry()].refs += 1
            if entries[target]?.confirmed != true { ready = false }
        }
        return ready
    }

    /// Registers a waiter for the targets not confirmed yet; the result when
    /// there is nothing (more) to wait for.
    mutating func register(_ id: UInt64, _ targets: [Target], _ waiter: Waiter, cancelled: Bool) -> Result<Void, HubError>? {
        if stopped { return .failure(.unavailable("the event bus has shut down")) }
        if cancelled { return .failure(.unavailable("cancelled while waiting for Redis to confirm a subscription")) }
        let remaining = Set(targets.filter { entries[$0]?.confirmed != true })
        guard !remaining.isEmpty else { return .success(()) }
        // `default:` in case a concurrent detach dropped the entry meanwhile: the
        // waiter still gets its confirmation (and the target is unsubscribed after).
        for target in remaining { entries[target, default: Entry()].waiting += 1 }
        waiters[id] = Pending(remaining: remaining, continuation: waiter)
        return nil
    }

    /// A waiter gave up (timeout, cancellation); its references stay until detached.
    mutating func cancelWaiter(_ id: UInt64) -> Waiter? {
        guard let pending = waiters.removeValue(forKey: id) else { return nil }
        for target in pending.remaining { release(target, waiting: 1) }
        return pending.continuation
    }

    /// Releases one reference on each target; true when the pump has work.
    mutating func detach(_ targets: [Target]) -> Bool {
        var work = false
        for target in targets where entries[target] != nil {
            entries[target]!.refs = max(0, entries[target]!.refs - 1)
            if release(target, waiting: 0) { work = true }
        }
        return work
    }

    /// Drops an entry nothing needs any more; true when it must be unsubscribed.
    @discardableResult
    private mutating func release(_ target: Target, waiting: Int) -> Bool {
        guard var entry = entries[target] else { return false }
        entry.waiting = max(0, entry.waiting - waiting)
        defer { entries[target] = entry.refs == 0 && entry.waiting == 0 && !entry.requested && !entry.inFlight ? nil : entry }
        return entry.refs == 0 && entry.waiting == 0 && entry.requested && !entry.inFlight
    }

    // MARK: - The pump

    /// The next change to make, marked in flight; nil when there is nothing to do.
    mutating func nextBatch() -> Batch? {
        guard !stopped else { return nil }
        var subscribe: [Target] = []
        for (target, entry) in entries where entry.waiting > 0 && !entry.confirmed && !entry.inFlight && !entry.parked {
            subscribe.append(target)
        }
        if !subscribe.isEmpty {
            for target in subscribe {
                entries[target]!.inFlight = true
                entries[target]!.requested = true
            }
            return .subscribe(subscribe)
        }
        var unsubscribe: [Target] = []
        for (target, entry) in entries where entry.refs == 0 && entry.waiting == 0 && entry.requested && !entry.inFlight {
            unsubscribe.append(target)
        }
        guard !unsubscribe.isEmpty else { return nil }
        for target in unsubscribe {
            entries[target]!.inFlight = true
            entries[target]!.confirmed = false
        }
        return .unsubscribe(unsubscribe)
    }

    /// A subscribe of `targets` finished. Returns the waiters to resume and
    /// the exact topics that need a sync marker (no cursor yet).
    /// `parked`: it failed only because the subscriber is disconnected; the
    /// waiters keep waiting for the reconnect (or their timeout).
    mutating func subscribed(
        _ targets: [Target], error: HubError?, parked: Bool = false
    ) -> (resumed: [(Waiter, Result<Void, HubError>)], needSync: [TopicKey]) {
        var needSync: [TopicKey] = []
        if error != nil, parked {
            for target in targets where entries[target] != nil {
                entries[target]!.inFlight = false
                entries[target]!.parked = true
            }
            return ([], [])
        }
        for target in targets where entries[target] != nil {
            entries[target]!.inFlight = false
            if error == nil {
                entries[target]!.confirmed = true
                if case .exact(let key) = target, entries[target]!.cursor == nil { needSync.append(key) }
            }
        }
        let done = Set(targets)
        var resumed: [(Waiter, Result<Void, HubError>)] = []
        for (id, pending) in waiters where !pending.remaining.isDisjoint(with: done) {
            if let error {
                waiters[id] = nil
                for target in pending.remaining { release(target, waiting: 1) }
                resumed.append((pending.continuation, .failure(error)))
            } else {
                let remaining = pending.remaining.subtracting(done)
                for target in pending.remaining.intersection(done) { release(target, waiting: 1) }
                if remaining.isEmpty {
                    waiters[id] = nil
                    resumed.append((pending.continuation, .success(())))
                } else {
                    waiters[id]?.remaining = remaining
                }
            }
        }
        return (resumed, needSync)
    }

    /// An unsubscribe of `targets` finished (whatever the outcome, they are
    /// out of the subscriber's set).
    mutating func unsubscribed(_ targets: [Target]) {
        for target in targets where entries[target] != nil {
            entries[target]!.inFlight = false
            entries[target]!.requested = false
            entries[target]!.confirmed = false
            entries[target]!.cursor = nil
            release(target, waiting: 0)
        }
    }

    /// A sync marker of `key` arrived (``RedisBusScripts/sync``): every event
    /// up to `offset` was published before it, so this node has delivered
    /// (or never needed, being subscribed after them) each one. Moves the
    /// cursor there unless it is further already. Ignored while interrupted
    /// (messages are being dropped for the recovery).
    mutating func synced(_ key: TopicKey, _ offset: Offset) {
        guard !interrupted, let entry = entries[.exact(key)] else { return }
        if let cursor = entry.cursor, offset.isAfter(cursor) != true, cursor.epoch == offset.epoch { return }
        entries[.exact(key)]!.cursor = offset
    }

    // MARK: - Incoming events

    /// Whether a message is another copy of the last one delivered (same channel and offset).
    func isRepeat(channel: String, offset: Offset) -> Bool {
        guard let last = lastMessage else { return false }
        return last.offset == offset && last.channel == channel
    }

    /// Whether a live event (received on `channel`) is to be delivered, and
    /// then advances the cursor: not while the subscriber is being
    /// recovered, not a copy of one delivered. `channel` nil: a recovered event.
    mutating func accept(_ event: Event, channel: String?) -> Bool {
        let recovering = channel == nil
        if interrupted && !recovering { return false }
        if let channel { lastMessage = (channel, event.offset) }
        let target = Target.exact(TopicKey(tenant: event.tenant, topic: event.topic))
        guard let entry = entries[target] else { return true }
        if let cursor = entry.cursor, event.offset.isAfter(cursor) == false { return false }
        entries[target]!.cursor = event.offset
        return true
    }

    // MARK: - Reconnects

    /// The subscriber connection was lost.
    mutating func interrupt() {
        interrupted = true
        lastMessage = nil
    }

    /// The subscriber is connected with every subscription in its set
    /// confirmed (`.connected` or `.resubscribed`). Marks them confirmed
    /// (resuming parked waiters) and returns what to recover: with
    /// `interrupted`, every target with references that was confirmed
    /// before; otherwise nothing.
    mutating func connected() -> RecoveryPlan {
        var plan = RecoveryPlan()
        var confirmedNow: Set<Target> = []
        for (target, entry) in entries where entry.requested && !entry.inFlight {
            if !entry.confirmed { confirmedNow.insert(target) }
            entries[target]!.confirmed = true
            entries[target]!.parked = false
        }
        if !confirmedNow.isEmpty {
            for (id, pending) in waiters where !pending.remaining.isDisjoint(with: confirmedNow) {
                for target in pending.remaining.intersection(confirmedNow) { release(target, waiting: 1) }
                let remaining = pending.remaining.subtracting(confirmedNow)
                if remaining.isEmpty {
                    waiters[id] = nil
                    plan.resumed.append((pending.continuation, .success(())))
                } else {
                    waiters[id]?.remaining = remaining
                }
            }
        }
        for case .exact(let key) in confirmedNow where entries[.exact(key)]?.cursor == nil { plan.needSync.append(key) }
        guard interrupted else { return plan }
        // Targets confirmed only now had no message flowing before: nothing to recover.
        for (target, entry) in entries where entry.refs > 0 && entry.confirmed && !confirmedNow.contains(target) {
            switch target {
            case .exact(let key): plan.exact.append((key, entry.cursor))
            case .pattern(let key): plan.patterns.append(key)
            case .observer: break
            }
        }
        return plan
    }

    /// The recovery is over: live messages flow again.
    mutating func recovered() {
        interrupted = false
    }

    // MARK: - Observers

    mutating func addObserver(_ id: UInt64, _ observer: Observer) {
        observers[id] = observer
    }

    mutating func removeObserver(_ id: UInt64) -> Observer? {
        observers.removeValue(forKey: id)
    }

    /// The handlers of observers whose topic matches `topic`.
    func handlers(for topic: Topic) -> [@Sendable (BusObservation) -> Void] {
        guard !observers.isEmpty else { return [] }
        return observers.values.filter { $0.topic.matches(topic) }.map(\.handler)
    }

    var allHandlers: [@Sendable (BusObservation) -> Void] { observers.values.map(\.handler) }

    /// Registers a waiter for the pump's next idle moment; false once stopped.
    mutating func addIdleWaiter(_ waiter: CheckedContinuation<Void, Never>) -> Bool {
        guard !stopped else { return false }
        idleWaiters.append(waiter)
        return true
    }

    mutating func takeIdleWaiters() -> [CheckedContinuation<Void, Never>] {
        defer { idleWaiters = [] }
        return idleWaiters
    }

    // MARK: - Shutdown

    /// Every waiter, to fail; nothing is handed out any more.
    mutating func stop() -> [Waiter] {
        stopped = true
        let all = waiters.values.map(\.continuation)
        waiters = [:]
        return all
    }

    /// Targets subscribed or wanted, for tests and diagnostics.
    var activeTargets: Set<Target> {
        Set(entries.filter { $0.value.refs > 0 || $0.value.waiting > 0 }.keys)
    }
}

/// The table as the bus uses it: waiters are continuations.
typealias BusSubscriptionTable = RedisSubscriptionTable<CheckedContinuation<Result<Void, HubError>, Never>>
