import Foundation
import NIOCore
import Synchronization

extension OperationService {
    /// Long-poll: returns the operation as soon as its version differs from
    /// `version`, or `nil` when it has not changed by the deadline (or the
    /// hub is shutting down, or the task is cancelled). Waiting holds no
    /// thread and polls nothing: a ``ChangeWait`` resumes the continuation.
    public func waitForChange(_ ref: OperationRef, from version: Int, seconds: Double) async throws -> OperationRecord? {
        guard OperationRecord.isValidID(ref.id) else { throw OperationError.notFound(ref.id) }
        let deadline = clock.now().addingTimeInterval(seconds)
        let started = Mutex<ChangeWait?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<OperationRecord?, any Error>) in
                let wait = awaitChange(ref, from: version, until: deadline, timerLoop: timerLoops.any()) {
                    continuation.resume(with: $0)
                }
                started.withLock { $0 = wait }
                if Task.isCancelled { wait.cancel() }
            }
        } onCancel: {
            started.withLock { $0 }?.cancel()
        }
    }

    /// What a log follower does next.
    public enum LogFollowStep: Sendable, Hashable {
        /// New lines (or a gap: lines dropped before they could be read).
        case lines(LogPage)
        /// The operation is finished and every line has been read.
        case finished(OperationRecord)
        /// Nothing new by the deadline: write a keep-alive and ask again.
        case idle
        /// The hub is shutting down: end the stream.
        case shuttingDown
    }

    /// The next step of `logs?follow=true`: lines after `after`, or the end of
    /// the operation, waiting (without a thread) until one of them or `deadline`.
    public func nextLogs(_ ref: OperationRef, after: Int, limit: Int, until deadline: Date) async throws -> LogFollowStep {
        guard OperationRecord.isValidID(ref.id) else { throw OperationError.notFound(ref.id) }
        while true {
            let ticket = notifier.ticket(for: ref)
            do {
                // The operation first: if it is already finished, the log read
                // after it holds every line (a finished log is closed).
                guard let op = try await read(ref) else { throw OperationError.notFound(ref.id) }
                let page = try await store.logs(ref, after: after, limit: limit)
                if !page.lines.isEmpty || page.gap {
                    notifier.discard(ticket)
                    return .lines(page)
                }
                if op.status.isTerminal {
                    notifier.discard(ticket)
                    return .finished(op)
                }
            } catch {
                notifier.discard(ticket)
                throw Self.wrap(error)
            }
            if notifier.isClosed {
                notifier.discard(ticket)
                return .shuttingDown
            }
            if clock.now() >= deadline || Task.isCancelled {
                notifier.discard(ticket)
                return .idle
            }
            guard await wait(ticket, until: deadline) else { return .idle }
            if notifier.isClosed { return .shuttingDown }
        }
    }

    /// Wakes the waiters of `ref` (long-polls and log followers), which then
    /// re-read it: for changes made elsewhere, e.g. by another hub node
    /// sharing the store (`RedisOperationChangeListener`). Changes made through
    /// this service wake its waiters by themselves. A wake-up without a change
    /// costs one store read per waiter.
    public func notifyChanged(_ ref: OperationRef) {
        cache.remove(ref)
        notifier.notify(ref)
    }

    /// Wakes every current waiter, of every operation: when changes made
    /// elsewhere may have gone unnoticed (the change feed reconnected).
    public func notifyAllChanged() {
        cache.removeAll()
        notifier.notifyAll()
    }

    /// Wakes every waiter and makes later waits return at once (graceful shutdown).
    public func stopWaiters() {
        notifier.close()
    }

    /// Waits for the ticket or the deadline: `true` when the ticket fired first.
    func wait(_ ticket: ChangeNotifier.Ticket, until deadline: Date) async -> Bool {
        let notifier = self.notifier
        let clock = self.clock
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await notifier.wait(ticket) }
            group.addTask {
                try? await clock.sleep(until: deadline)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
