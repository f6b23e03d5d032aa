import NIOCore
import NIOHTTP1

/// A request of a `ControlClient` batch.
struct ControlRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
}

enum ControlClientError: Error {
    case noConnection(ConnectOutcome)
}

/// A few keep-alive connections on the bench's control loop for the requests around a
/// measurement: creating the operations a scenario reads or waits on, and the PATCHes that wake
/// long-poll waiters. A batch sends request j on connection j % count (pipelined when there are
/// more requests than connections) and completes when every request is answered or lost.
final class ControlClient: KeepAliveDelegate {
    private let loop: any EventLoop
    private var connections: [KeepAliveConnection] = []
    private var results: [HTTPResponseSummary] = []
    private var remaining = 0
    private var promise: EventLoopPromise<[HTTPResponseSummary]>?

    private init(loop: any EventLoop) {
        self.loop = loop
    }

    /// Opens `count` connections on `loop` (from the first source address).
    static func open(count: Int, target: ConnectTarget, loop: any EventLoop) async throws -> ControlHandle {
        let client = try await loop.submit { NIOLoopBound(ControlClient(loop: loop), eventLoop: loop) }.get()
        var single = target
        single.sources = Array(target.sources.prefix(1))
        let outcome = await HTTPConnector.open(count: count, concurrency: count, target: single, loops: [loop]) { index, channel in
            let connection = KeepAliveConnection(index: index)
            connection.delegate = client.value
            client.value.connections.append(connection)
            try channel.pipeline.syncOperations.addHandler(connection)
        }
        guard outcome.opened > 0 else { throw ControlClientError.noConnection(outcome) }
        return ControlHandle(loop: loop, client: client)
    }

    /// Sends the batch; answers in request order (status 0: lost with its connection).
    func send(_ requests: [ControlRequest]) -> EventLoopFuture<[HTTPResponseSummary]> {
        precondition(self.promise == nil, "one batch at a time")
        let live = self.connections.filter(\.isActive)
        guard !requests.isEmpty, !live.isEmpty else {
            return self.loop.makeSucceededFuture(requests.map { _ in HTTPResponseSummary() })
        }
        let promise = self.loop.makePromise(of: [HTTPResponseSummary].self)
        self.promise = promise
        self.results = requests.map { _ in HTTPResponseSummary() }
        self.remaining = requests.count
        for (j, request) in requests.enumerated() {
            let sent = live[j % live.count].send(request.head, body: request.body, tag: j)
            if !sent { self.complete(j, HTTPResponseSummary()) }
        }
        return promise.futureResult
    }

    func close() -> EventLoopFuture<Void> {
        EventLoopFuture.andAllComplete(self.connections.compactMap { $0.close() }, on: self.loop)
    }

    private func complete(_ tag: Int, _ response: HTTPResponseSummary) {
        guard self.promise != nil, tag < self.results.count else { return }
        self.results[tag] = response
        self.remaining -= 1
        if self.remaining == 0, let promise = self.promise {
            self.promise = nil
            promise.succeed(self.results)
        }
    }

    func connection(_ connection: KeepAliveConnection, answered tag: Int, _ response: HTTPResponseSummary) {
        self.complete(tag, response)
    }

    func connectionClosed(_ connection: KeepAliveConnection, unanswered: [Int]) {
        for tag in unanswered { self.complete(tag, HTTPResponseSummary()) }
    }
}
