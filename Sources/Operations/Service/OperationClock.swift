import Foundation
import NIOCore

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
    /// task, for waiters parked outside one (a long-poll in a channel handler,
    /// whose `loop` runs the timer and the action).
    func schedule(at deadline: Date, on loop: any EventLoop, _ action: @escaping @Sendable () -> Void) -> OperationTimer
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

    public func schedule(at deadline: Date, on loop: any EventLoop, _ action: @escaping @Sendable () -> Void) -> OperationTimer {
        let delay = TimeAmount.milliseconds(Int64((max(0, deadline.timeIntervalSinceNow) * 1000).rounded(.up)))
        // A scheduled task in the loop's timer heap: a few dozen bytes, no thread, no task.
        let scheduled = loop.scheduleTask(in: delay, action)
        return OperationTimer { scheduled.cancel() }
    }
}

