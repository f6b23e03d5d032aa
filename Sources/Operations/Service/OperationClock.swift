import Foundation

/// The time source of the operations service and its background services:
/// timestamps, heartbeat deadlines, retention, long-poll deadlines. Tests
/// inject a `ManualClock` and advance it instead of sleeping.
public protocol OperationClock: Sendable {
    /// The current wall-clock time.
    func now() -> Date

    /// Suspends until the clock reaches `deadline`; throws `CancellationError`
    /// when the calling task is cancelled first.
    func sleep(until deadline: Date) async throws
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
}
