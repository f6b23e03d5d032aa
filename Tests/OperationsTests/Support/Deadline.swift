import Foundation

struct DeadlineExceeded: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with `DeadlineExceeded` after `seconds`. The sleep is
/// only the deadline: tests await the thing itself.
func within<T: Sendable>(
    _ seconds: Double = 10, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            throw DeadlineExceeded(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

extension AsyncStream where Element: Sendable {
    /// The next element matching `predicate`, within `seconds`.
    func first(
        within seconds: Double = 10, _ what: String, where predicate: @escaping @Sendable (Element) -> Bool
    ) async throws -> Element {
        let stream = self
        return try await within(seconds, what) {
            for await element in stream where predicate(element) { return element }
            throw DeadlineExceeded(what: what + " (stream ended)")
        }
    }
}
