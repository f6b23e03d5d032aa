import Foundation
import Synchronization

/// The time source of the operations service and its background services:
/// timestamps, heartbeat deadlines, retention, long-poll deadlines. Tests
/// inject a `ManualClock` and advance it instead of sleeping.
public protocol OperationClock: Sendable {
    /// The current wall-clock time.
    func now() -> Date

    /// Suspends until the clock reaches `deadline`; throws `CancellationError`
    /// when the calling task is cancelled first.
    func sleep(until deadline: Date) async throws

    /// Calls `action` once the clock reaches `deadline` (soon, when it has
    /// already), unless the timer is cancelled first: a deadline without a
    /// task, for waiters parked outside one (a long-poll in a channel handler).
    func schedule(at deadline: Date, _ action: @escaping @Sendable () -> Void) -> OperationTimer
}

/// A pending ``OperationClock/schedule(at:_:)``.
public final class OperationTimer: Sendable {
    private let onCancel: @Sendable () -> Void

    init(onCancel: @escaping @Sendable () -> Void) {
        self.onCancel = onCancel
    }

    /// The action will not run (if it has not yet).
    public func cancel() { onCancel() }
}

/// The system's wall clock.
public struct SystemClock: OperationClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        guard seconds > 0 else { return }
        try await Task.sleep(for: .milliseconds(Int64((seconds * 1000).rounded(.up))))
    }

    public func schedule(at deadline: Date, _ action: @escaping @Sendable () -> Void) -> OperationTimer {
        let cancelled = CancelFlag()
        DispatchQueue.global().asyncAfter(wallDeadline: .now() + max(0, deadline.timeIntervalSinceNow)) {
            if !cancelled.isSet { action() }
        }
        return OperationTimer { cancelled.set() }
    }
}

/// Set once by ``OperationTimer/cancel()``; read by the timer's action.
final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    var isSet: Bool { flag.load(ordering: .acquiring) }

    func set() { flag.store(true, ordering: .releasing) }
}
