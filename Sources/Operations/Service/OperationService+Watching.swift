extension OperationService {
    /// A long-poll's wait without a task: for a transport that parks the
    /// request in a channel handler and answers from its event loop. Take a
    /// watch first, then read the operation: a change in between fires the
    /// watch, so none is missed (the same order `waitForChange` keeps).
    public struct ChangeWatch: Sendable, Hashable {
        let ticket: ChangeNotifier.Ticket
    }

    /// A watch on the next change of `ref` (or on shutdown).
    public func watch(_ ref: OperationRef) -> ChangeWatch {
        ChangeWatch(ticket: notifier.ticket(for: ref))
    }

    /// Calls `callback` once when the watched operation changes, is deleted,
    /// or the hub stops its waiters; at once if that happened already. The
    /// watch is used up by the call.
    public func onChange(_ watch: ChangeWatch, _ callback: @escaping @Sendable () -> Void) {
        notifier.onFire(watch.ticket, callback)
    }

    /// Drops a watch that is no longer wanted (answered, timed out, the client left).
    public func cancel(_ watch: ChangeWatch) {
        notifier.discard(watch.ticket)
    }

    /// Whether the hub is shutting down its waiters: answer them now.
    public var waitersStopped: Bool { notifier.isClosed }
}
