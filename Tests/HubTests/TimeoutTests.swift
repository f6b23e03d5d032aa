import HubTesting
import Testing

@Suite("withTimeout: the deadline of every awaited event")
struct TimeoutTests {
    @Test("a body that finishes in time gives its value")
    func inTime() async throws {
        #expect(try await withTimeout(5, "a value") { 42 } == 42)
    }

    @Test("a body that never finishes, even one that ignores cancellation, fails with TimeoutError at the deadline")
    func deadline() async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        defer { continuation.finish() }
        await #expect(throws: TimeoutError.self) {
            try await withTimeout(0.2, "an element that never comes") {
                // Awaiting another task's value ignores this task's cancellation.
                await Task { for await element in stream { return element }; return -1 }.value
            }
        }
    }
}
