import NIOCore

/// The state of a ``RedisSubscriber``: what it should be subscribed to,
/// which (un)subscribe commands wait for Redis's confirmation, and the
/// connection's phase. Pure apart from handing commands to the connection's
/// writer (a non-blocking enqueue, done under the caller's lock so that
/// commands leave in the order their confirmations are expected).
///
/// RESP2 confirms each name of `SUBSCRIBE a b` with its own
/// `[subscribe, a, count]` reply, in order; the queue of operations matches
/// them one by one. Anything out of order is a protocol violation.
struct RedisSubscriberStateMachine {
    typealias Waiter = CheckedContinuation<Result<Void, RedisError>, Never>
    typealias Writer = AsyncStream<RedisCommand>.Continuation
    typealias Event = RedisSubscriber.Event

    enum Kind: String, Sendable {
        case subscribe, unsubscribe, psubscribe, punsubscribe

        var command: String { rawValue.uppercased() }
        var adds: Bool { self == .subscribe || self == .psubscribe }
    }

    struct Operation {
        let kind: Kind
        var remaining: ArraySlice<String>
        let waiterID: UInt64?
        /// Part of re-establishing the subscriptions after (re)connecting.
        let restoring: Bool
    }

    enum Link {
        /// No connection attempt has finished yet.
        case starting
        /// Disconnected; reconnecting.
        case down
        /// Connected; restoring the subscriptions.
        case restoring(Writer)
        /// Connected and every subscription confirmed.
        case up(Writer)
    }

    enum RequestAction: Equatable {
        case done
        case wait
        case fail(RedisError)
    }

    /// What a received value asks for.
    struct Outcome {
        var events: [Event] = []
        var resumed: [(Waiter, Result<Void, RedisError>)] = []
        /// Set when the stream broke the protocol: close the connection.
        var violation: RedisError?
    }

    private(set) var channels: Set<String> = []
    private(set) var patterns: Set<String> = []
    private(set) var link = Link.starting
    private var running = false
    private var stopped = false
    // Internal rather than private: the receive side lives in
    // RedisSubscriberStateMachine+Receive.swift.
    var operations = CircularBuffer<Operation>()
    var waiters: [UInt64: Waiter] = [:]
    /// Waiters (by id) for the subscriptions being restored, from before the first connection.
    private var restoreWaiters: [UInt64] = []
    private var nextID: UInt64 = 0
    private var everConnected = false
    /// Whether `.connected`/`.resubscribed` was the last state event.
    private var announced = false
    var pingOutstanding = false

    var isConnected: Bool {
        if case .up = link { return true }
        return false
    }

    mutating func makeWaiterID() -> UInt64 {
        nextID += 1
        return nextID
    }

    mutating func start() -> Bool {
        guard !running, !stopped else { return false }
        running = true
        return true
    }

    // MARK: - Requests

    /// Records the change to the subscription set and, when connected, sends
    /// it. `.wait` means the confirmation is pending; `waiter` (if any) is
    /// resumed when it comes.
    mutating func request(_ kind: Kind, _ names: [String], waiter: Waiter?, id: UInt64, cancelled: Bool) -> RequestAction {
        if stopped { return .fail(.shutDown("the subscriber has shut down")) }
        guard !names.isEmpty else { return .done }
        switch kind {
        case .subscribe: channels.formUnion(names)
        case .unsubscribe: channels.subtract(names)
        case .psubscribe: patterns.formUnion(names)
        case .punsubscribe: patterns.subtract(names)
        }
        let registered = cancelled ? nil : waiter
        switch link {
        case .restoring(let writer), .up(let writer):
            writer.yield(RedisCommand([.string(kind.command)] + names.map { .string($0) }))
            operations.append(Operation(kind: kind, remaining: names[...], waiterID: registered.map { _ in id }, restoring: false))
        case .starting where kind.adds:
            // Sent with the rest when the first connection comes up.
            if registered != nil { restoreWaiters.append(id) }
        case .down where kind.adds:
            return .fail(.notConnected("Redis is not reachable; the subscription is kept and made when it is back"))
        case .starting, .down:
            return .done  // nothing to undo on a connection that does not exist
        }
        if cancelled { return .fail(.cancelled()) }
        if let registered { waiters[id] = registered }
        return .wait
    }

    /// Forgets a waiter whose caller gave up (timeout or cancellation); the
    /// operation itself stays queued for its confirmation.
    mutating func cancelWaiter(id: UInt64) -> Waiter? {
        restoreWaiters.removeAll { $0 == id }
        return waiters.removeValue(forKey: id)
    }

    // MARK: - Connection

    /// A connection is up: re-send every subscription. Returns the event to
    /// emit when there is nothing to restore.
    mutating func connected(_ writer: Writer) -> Outcome {
        operations.removeAll()
        pingOutstanding = false
        link = .restoring(writer)
        if !channels.isEmpty {
            let names = channels.sorted()
            writer.yield(RedisCommand(["SUBSCRIBE"] + names.map { .string($0) }))
            operations.append(Operation(kind: .subscribe, remaining: names[...], waiterID: nil, restoring: true))
        }
        if !patterns.isEmpty {
            let names = patterns.sorted()
            writer.yield(RedisCommand(["PSUBSCRIBE"] + names.map { .string($0) }))
            operations.append(Operation(kind: .psubscribe, remaining: names[...], waiterID: nil, restoring: true))
        }
        var outcome = Outcome()
        if operations.isEmpty { restored(writer, into: &outcome) }
        return outcome
    }

    mutating func restored(_ writer: Writer, into outcome: inout Outcome) {
        link = .up(writer)
        for id in restoreWaiters {
            if let waiter = waiters.removeValue(forKey: id) { outcome.resumed.append((waiter, .success(()))) }
        }
        restoreWaiters = []
        outcome.events.append(everConnected ? .resubscribed : .connected)
        everConnected = true
        announced = true
    }

    /// The connection closed (or could not be made): fail what waits on it.
    mutating func disconnected(_ error: RedisError) -> Outcome {
        var outcome = Outcome()
        switch link {
        case .restoring(let writer), .up(let writer): writer.finish()
        case .starting, .down: break
        }
        link = .down
        for operation in operations {
            if let id = operation.waiterID, let waiter = waiters.removeValue(forKey: id) {
                outcome.resumed.append((waiter, .failure(error)))
            }
        }
        operations.removeAll()
        for id in restoreWaiters {
            if let waiter = waiters.removeValue(forKey: id) {
                outcome.resumed.append((waiter, .failure(.notConnected("Redis is not reachable: \(error.message)"))))
            }
        }
        restoreWaiters = []
        if announced {
            announced = false
            outcome.events.append(.disconnected(error))
        }
        return outcome
    }

    /// Shutdown: every waiter fails.
    mutating func shutDown() -> [Waiter] {
        stopped = true
        switch link {
        case .restoring(let writer), .up(let writer): writer.finish()
        case .starting, .down: break
        }
        link = .down
        operations.removeAll()
        restoreWaiters = []
        let all = Array(waiters.values)
        waiters = [:]
        return all
    }

    /// Time for a health check: false when the previous `PING` is still
    /// unanswered (the connection is dead); otherwise sends one.
    mutating func ping() -> Bool {
        switch link {
        case .restoring(let writer), .up(let writer):
            if pingOutstanding { return false }
            pingOutstanding = true
            writer.yield(["PING"])
            return true
        case .starting, .down:
            return true
        }
    }
}
