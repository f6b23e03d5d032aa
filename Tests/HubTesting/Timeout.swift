/// Fails with `TimeoutError` when `body` has not finished within `seconds`.
/// The sleep here is only the deadline: tests await the event itself.
public func withTimeout<T: Sendable>(
    _ seconds: Double = 10, _ what: String = "operation", _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            throw TimeoutError(what: what, seconds: seconds)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw TimeoutError(what: what, seconds: seconds) }
        return first
    }
}

public struct TimeoutError: Error, CustomStringConvertible {
    public let what: String
    public let seconds: Double
    public var description: String { "timed out after \(seconds)s waiting for \(what)" }
}
