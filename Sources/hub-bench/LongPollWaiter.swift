import NIOCore
import NIOHTTP1

/// `operations waiters`: one connection holding one long-poll,
/// `GET /api/v1/operations/{id}?wait_seconds=S` with `If-None-Match` of the version it has.
/// Records when the request was written and what answered it, on its event loop.
final class LongPollWaiter: KeepAliveDelegate {
    let operation: Int
    private let connection: KeepAliveConnection
    private unowned let group: WaiterLoop
    private(set) var sent = false
    private(set) var writtenNanos: UInt64 = 0
    private(set) var response: HTTPResponseSummary?
    /// Answered before the wake-up PATCHes were sent.
    private(set) var answeredEarly = false
    private(set) var closedUnanswered = false

    init(operation: Int, connection: KeepAliveConnection, group: WaiterLoop) {
        self.operation = operation
        self.connection = connection
        self.group = group
        connection.delegate = self
    }

    /// Writes the long-poll; false when the connection is not open.
    func send(_ head: HTTPRequestHead, loop: any EventLoop) -> Bool {
        guard self.connection.isActive else { return false }
        let written = loop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .success: self.writtenNanos = SystemSupport.monotonicNanos()
            case .failure: break
            }
            self.group.requestWritten(ok: self.writtenNanos > 0)
        }
        self.sent = self.connection.send(head, tag: 0, written: written)
        return self.sent
    }

    func close() -> EventLoopFuture<Void>? {
        self.connection.close()
    }

    func connection(_ connection: KeepAliveConnection, answered tag: Int, _ response: HTTPResponseSummary) {
        guard self.response == nil else { return }
        self.response = response
        self.answeredEarly = !self.group.wakeArmed
        self.group.waiterFinished()
    }

    func connectionClosed(_ connection: KeepAliveConnection, unanswered: [Int]) {
        guard self.sent, self.response == nil, !self.closedUnanswered else { return }
        self.closedUnanswered = !self.group.closing
        self.group.waiterFinished()
    }
}
