import NIOHTTP1

/// `operations get`: one connection asking for the phase's request (`GET /health`, the same with
/// a token, or `GET /api/v1/operations/{id}`) again as soon as it is answered, with up to
/// `depth` requests pipelined.
final class ReadWorker: LoadWorker, KeepAliveDelegate {
    private let connection: KeepAliveConnection
    private unowned let load: LoadLoop
    private let depth: Int
    private let heads: [RequestKind: HTTPRequestHead]

    init(connection: KeepAliveConnection, load: LoadLoop, requests: OperationRequests, operationID: String, depth: Int) {
        self.connection = connection
        self.load = load
        self.depth = max(depth, 1)
        self.heads = [
            .health: requests.health(withToken: false),
            .healthWithToken: requests.health(withToken: true),
            .get: requests.get(id: operationID),
        ]
        connection.delegate = self
    }

    func start() {
        while self.load.running && self.connection.outstanding < self.depth {
            guard self.send(self.load.phase) else { return }
        }
    }

    private func send(_ kind: RequestKind) -> Bool {
        guard let head = self.heads[kind], self.connection.send(head, tag: kind.rawValue) else { return false }
        self.load.sent()
        return true
    }

    func connection(_ connection: KeepAliveConnection, answered tag: Int, _ response: HTTPResponseSummary) {
        self.load.finished(RequestKind(rawValue: tag) ?? .get, response)
        if self.load.running { _ = self.send(self.load.phase) }
    }

    func connectionClosed(_ connection: KeepAliveConnection, unanswered: [Int]) {
        for tag in unanswered { self.load.lost(RequestKind(rawValue: tag) ?? .get) }
    }
}
