import Synchronization

/// Wakes the tasks waiting for an operation to change (long-polls, log
/// followers). A waiter first takes a ticket, then reads the current state,
/// then waits on the ticket: a change between the read and the wait has
/// already fired the ticket, so no wake-up is lost. Waiting is a suspended
/// continuation: no thread, no polling.
final class ChangeNotifier: Sendable {
    struct Ticket: Sendable, Hashable {
        let id: UInt64
        let ref: OperationRef
    }

    private struct Entry {
        let ref: OperationRef
        var fired = false
        var continuation: CheckedContinuation<Bool, Never>?
        /// For waiters without a task (``onFire(_:_:)``).
        var callback: (@Sendable () -> Void)?
    }

    /// What firing a ticket resumes: a suspended task or a callback.
    private enum Waiter {
        case continuation(CheckedContinuation<Bool, Never>)
        case callback(@Sendable () -> Void)

        func resume() {
            switch self {
            case .continuation(let continuation): continuation.resume(returning: true)
            case .callback(let callback): callback()
            }
        }
    }

    private struct State {
        var nextID: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
        var byOperation: [OperationRef: Set<UInt64>] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    init() {}

    /// A ticket that fires on the next change of `ref`.
    func ticket(for ref: OperationRef) -> Ticket {
        state.withLock { state in
            state.nextID += 1
            let id = state.nextID
            state.entries[id] = Entry(ref: ref, fired: state.closed)
            state.byOperation[ref, default: []].insert(id)
            return Ticket(id: id, ref: ref)
        }
    }

    /// Waits until the ticket fires (`true`), or the task is cancelled
    /// (`false`). Either way the ticket is used up.
    func wait(_ ticket: Ticket) async -> Bool {
        let fired = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { state -> Bool? in
                    guard let entry = state.entries[ticket.id] else { return false }
                    if entry.fired { return true }
                    if Task.isCancelled { return false }
                    state.entries[ticket.id]?.continuation = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let continuation = state.withLock { state in
                let continuation = state.entries[ticket.id]?.continuation
                state.entries[ticket.id]?.continuation = nil
                return continuation
            }
            continuation?.resume(returning: false)
        }
        discard(ticket)
        return fired
    }

    /// Calls `callback` (once, on the thread that fires the ticket, or at once
    /// when it has fired already) when the ticket fires; the ticket is then
    /// used up. For waiters that are not tasks (a long-poll parked in a channel
    /// handler). `discard` drops it without a call.
    func onFire(_ ticket: Ticket, _ callback: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            guard let entry = state.entries[ticket.id] else { return false }
            if entry.fired { return true }
            state.entries[ticket.id]?.callback = callback
            return false
        }
        if now {
            discard(ticket)
            callback()
        }
    }

    /// Gives up a ticket without waiting.
    func discard(_ ticket: Ticket) {
        state.withLock { state in
            state.entries[ticket.id] = nil
            state.byOperation[ticket.ref]?.remove(ticket.id)
            if state.byOperation[ticket.ref]?.isEmpty == true { state.byOperation[ticket.ref] = nil }
        }
    }

    /// Fires every ticket of `ref`.
    func notify(_ ref: OperationRef) {
        let waiters = state.withLock { state -> [Waiter] in
            guard let ids = state.byOperation[ref] else { return [] }
            return ids.compactMap { Self.fire(&state, id: $0) }
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Fires every ticket outstanding now, of every operation (later tickets
    /// are not affected): for when changes may have been missed, e.g. while
    /// the cross-node change feed was disconnected. Waiters re-read and wait again.
    func notifyAll() {
        let waiters = state.withLock { state -> [Waiter] in
            Array(state.entries.keys).compactMap { Self.fire(&state, id: $0) }
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Fires every ticket, now and from now on (graceful shutdown: waiters answer at once).
    func close() {
        let waiters = state.withLock { state -> [Waiter] in
            state.closed = true
            return Array(state.entries.keys).compactMap { Self.fire(&state, id: $0) }
        }
        for waiter in waiters { waiter.resume() }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// Tickets outstanding (for tests: nothing leaks).
    var ticketCount: Int { state.withLock { $0.entries.count } }

    /// Marks the ticket fired; returns who waits on it. A callback's ticket is
    /// used up at once (a continuation's is discarded by its `wait`).
    private static func fire(_ state: inout State, id: UInt64) -> Waiter? {
        guard var entry = state.entries[id] else { return nil }
        if let callback = entry.callback {
            state.entries[id] = nil
            state.byOperation[entry.ref]?.remove(id)
            if state.byOperation[entry.ref]?.isEmpty == true { state.byOperation[entry.ref] = nil }
            return .callback(callback)
        }
        entry.fired = true
        let continuation = entry.continuation
        entry.continuation = nil
        state.entries[id] = entry
        return continuation.map { .continuation($0) }
    }
}
