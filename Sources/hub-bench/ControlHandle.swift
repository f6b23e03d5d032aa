import NIOCore

/// A `ControlClient` seen from the scenario's task: every call hops to the client's loop.
struct ControlHandle: Sendable {
    let loop: any EventLoop
    let client: NIOLoopBound<ControlClient>

    /// Sends a batch; answers in request order.
    func send(_ requests: [ControlRequest]) async throws -> [HTTPResponseSummary] {
        let client = self.client
        return try await self.loop.flatSubmit { client.value.send(requests) }.get()
    }

    func close() async throws {
        let client = self.client
        try await self.loop.flatSubmit { client.value.close() }.get()
    }
}
