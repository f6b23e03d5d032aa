import Foundation
import HubTesting

struct DeadlineExceeded: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with `DeadlineExceeded` after `seconds`: the
/// deadline race of `HubTesting.withTimeout`, with this target's error.
func within<T: Sendable>(
    _ seconds: Double = 10, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    do {
        return try await withTimeout(seconds, what, body)
    } catch is TimeoutError {
        throw DeadlineExceeded(what: what)
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
