/// What the pool needs to know about a connection to balance load.
protocol RedisPoolConnection: AnyObject, Sendable {
    /// Commands sent whose replies have not all arrived.
    var pendingCommands: Int { get }
    /// Whether the channel is still open (it may have closed a moment before
    /// the pool hears of it).
    var isActive: Bool { get }
}

extension RedisConnection: RedisPoolConnection {}

/// The state of a ``RedisClient``'s pool: which slot holds a live connection,
/// which is (re)connecting, and who waits for the first connection. Pure: it
/// performs no I/O and returns what the caller must do.
///
/// Leasing: the least busy live connection (fewest pending commands; ties go
/// round-robin). With none live, a caller waits only while the client does
/// not know yet whether Redis is reachable (before `run()` and before every
/// slot has finished its first attempt); after that it fails at once with
/// ``RedisError/Code/notConnected``: commands never queue up while Redis is down.
struct RedisPoolStateMachine<Connection: RedisPoolConnection> {
    typealias Waiter = CheckedContinuation<Result<Connection, RedisError>, Never>

    enum Slot {
        /// No attempt has finished yet.
        case starting
        case connecting
        case connected(Connection)
        /// The last attempt failed or the connection dropped; waiting to retry.
        case down
    }

    enum Lifecycle: Equatable {
        case initial
        case running
        case shuttingDown
        case shutDown
    }

    enum LeaseAction {
        case use(Connection)
        case fail(RedisError)
        /// The waiter was queued; it is resumed by a later event.
        case wait
    }

    enum ConnectedAction {
        /// Hand the connection to these waiters.
        case resume([Waiter], Connection)
        /// The pool is shutting down: close the new connection and stop.
        case close(Connection)
    }

    private(set) var slots: [Slot]
    private(set) var lifecycle = Lifecycle.initial
    /// Callers waiting for a connection; `untilConnected` ones wait however
    /// long it takes (``RedisClient/waitForConnection()``), the others only
    /// until the client knows whether Redis is reachable.
    private var waiters: [UInt64: (waiter: Waiter, untilConnected: Bool)] = [:]
    private var nextWaiterID: UInt64 = 0
    private var lastError: RedisError?
    private var cursor = 0

    init(size: Int) {
        slots = Array(repeating: .starting, count: max(1, size))
    }

    /// Slots with a connection whose channel is still open.
    var connectedCount: Int {
        slots.reduce(0) { count, slot in
            if case .connected(let connection) = slot, connection.isActive { return count + 1 }
            return count
        }
    }

    /// Whether every slot has finished at least one attempt.
    private var knowsReachability: Bool {
        !slots.contains { if case .starting = $0 { return true } else { return false } }
    }

    // MARK: - Commands

    mutating func makeWaiterID() -> UInt64 {
        nextWaiterID += 1
        return nextWaiterID
    }

    /// A connection for a command, or why there is none. With a `waiter`, it
    /// is queued under `id` when the answer is not known yet (or, with
    /// `untilConnected`, until a connection is up), unless `cancelled`.
    mutating func lease(waiter: Waiter?, id: UInt64 = 0, untilConnected: Bool = false, cancelled: Bool = false) -> LeaseAction {
        switch lifecycle {
        case .shuttingDown, .shutDown:
            return .fail(.shutDown())
        case .initial, .running:
            // Before run() the slots are all `.starting`: callers wait (the
            // client bounds that wait), as run() may be about to start.
            break
        }
        if let connection = leastBusy() {
            return .use(connection)
        }
        guard let waiter, untilConnected || !knowsReachability else {
            return .fail(downError)
        }
        guard !cancelled else { return .fail(.cancelled()) }
        waiters[id] = (waiter, untilConnected)
        return .wait
    }

    /// Removes a waiter whose task was cancelled; nil when it was resumed already.
    mutating func cancelWaiter(id: UInt64) -> Waiter? {
        waiters.removeValue(forKey: id)?.waiter
    }

    private var downError: RedisError {
        .notConnected("Redis is not reachable" + (lastError.map { ": \($0.message)" } ?? ""))
    }

    private mutating func leastBusy() -> Connection? {
        var best: Connection?
        var bestLoad = Int.max
        let count = slots.count
        for offset in 0..<count {
            guard case .connected(let connection) = slots[(cursor + offset) % count], connection.isActive else { continue }
            let load = connection.pendingCommands
            if load < bestLoad {
                best = connection
                bestLoad = load
                if load == 0 { break }
            }
        }
        cursor = (cursor + 1) % count
        return best
    }

    // MARK: - Lifecycle

    /// `run()` began. False when it already ran.
    mutating func start() -> Bool {
        guard lifecycle == .initial else { return false }
        lifecycle = .running
        return true
    }

    /// A slot is about to connect. False when it should stop instead.
    mutating func willConnect(slot: Int) -> Bool {
        guard lifecycle == .running else { return false }
        if case .starting = slots[slot] { return true }  // keep "not known yet" until it finishes
        slots[slot] = .connecting
        return true
    }

    mutating func connected(slot: Int, _ connection: Connection) -> ConnectedAction {
        guard lifecycle == .running else { return .close(connection) }
        slots[slot] = .connected(connection)
        lastError = nil
        let resumed = waiters.values.map(\.waiter)
        waiters = [:]
        return .resume(resumed, connection)
    }

    /// An attempt failed; returns the waiters to fail (with the returned
    /// error) once no slot can still answer them.
    mutating func connectFailed(slot: Int, _ error: RedisError) -> ([Waiter], RedisError) {
        lastError = error
        if lifecycle == .running { slots[slot] = .down }
        guard knowsReachability, connectedCount == 0 else { return ([], downError) }
        let failed = waiters.filter { !$0.value.untilConnected }
        for id in failed.keys { waiters[id] = nil }
        return (failed.values.map(\.waiter), downError)
    }

    /// A live connection closed. True when the slot should reconnect.
    mutating func disconnected(slot: Int) -> Bool {
        guard lifecycle == .running else { return false }
        slots[slot] = .down
        lastError = .connectionClosed("the connection to Redis was lost")
        return true
    }

    /// Graceful shutdown or cancellation: no more commands. Returns the live
    /// connections to close and the waiters to fail.
    mutating func shutDown() -> ([Connection], [Waiter]) {
        lifecycle = .shuttingDown
        var live: [Connection] = []
        for slot in slots {
            if case .connected(let connection) = slot { live.append(connection) }
        }
        let failed = waiters.values.map(\.waiter)
        waiters = [:]
        return (live, failed)
    }

    mutating func finished() {
        lifecycle = .shutDown
        slots = slots.map { _ in .down }
    }
}
