/// `operations crud`: one worker on one connection, one request at a time, living an operation's
/// life: create it (`POST`), then `patchesPerOperation` times report progress (`PATCH` with
/// `If-Match` of the version it holds) and read it back (`GET`), then report `succeeded` and
/// start over with a new operation. Every `staleEvery`-th PATCH (0 = never) is sent with the
/// version before the current one instead, which the version check must refuse with 412.
///
/// The worker is its operation's only writer, so it also checks the hub's answers: a PATCH must
/// advance the version by one, a GET must return the version the last PATCH answered, a current
/// `If-Match` must not fail and a stale one must. Anything else is counted as an anomaly.
final class CrudWorker: LoadWorker, KeepAliveDelegate {
    private enum Next {
        case create, patch, get, finish
    }

    private let connection: KeepAliveConnection
    private unowned let load: LoadLoop
    private let requests: OperationRequests
    private let run: String
    private let index: Int
    private let patchesPerOperation: Int
    private let staleEvery: Int

    private var next: Next = .create
    private var id = ""
    private var version = 0
    /// Progress reports sent on the current operation.
    private var step = 0
    /// PATCHes sent by this worker (for `staleEvery`).
    private var patches = 0
    private var finishing = false

    init(
        connection: KeepAliveConnection, load: LoadLoop, requests: OperationRequests, run: String, index: Int,
        patchesPerOperation: Int, staleEvery: Int
    ) {
        self.connection = connection
        self.load = load
        self.requests = requests
        self.run = run
        self.index = index
        self.patchesPerOperation = max(patchesPerOperation, 1)
        self.staleEvery = max(staleEvery, 0)
        connection.delegate = self
    }

    func start() {
        if self.connection.outstanding == 0 { self.issue() }
    }

    private func issue() {
        guard self.load.running, self.connection.isActive else { return }
        let allocator = self.connection.allocator
        let kind: RequestKind
        let sent: Bool
        switch self.next {
        case .create:
            let (head, body) = self.requests.create(run: self.run, worker: self.index, allocator: allocator)
            kind = .create
            sent = self.connection.send(head, body: body, tag: kind.rawValue)
        case .patch:
            self.patches += 1
            let stale = self.staleEvery > 0 && self.patches % self.staleEvery == 0 && self.version > 1
            let nextStep = self.step + 1
            let progress = nextStep * 90 / self.patchesPerOperation
            let json = "{\"status\":\"in_progress\",\"progress\":\(progress),\"message\":\"step \(nextStep)\"}"
            let (head, body) = self.requests.patch(id: self.id, json: json, ifMatch: stale ? self.version - 1 : self.version, allocator: allocator)
            kind = stale ? .stalePatch : .patch
            if !stale { self.step = nextStep }
            sent = self.connection.send(head, body: body, tag: kind.rawValue)
        case .get:
            kind = .get
            sent = self.connection.send(self.requests.get(id: self.id), tag: kind.rawValue)
        case .finish:
            self.patches += 1
            self.finishing = true
            let json = "{\"status\":\"succeeded\",\"message\":\"done\"}"
            let (head, body) = self.requests.patch(id: self.id, json: json, ifMatch: self.version, allocator: allocator)
            kind = .patch
            sent = self.connection.send(head, body: body, tag: kind.rawValue)
        }
        if sent { self.load.sent() }
    }

    func connection(_ connection: KeepAliveConnection, answered tag: Int, _ response: HTTPResponseSummary) {
        let kind = RequestKind(rawValue: tag) ?? .get
        self.load.finished(kind, response)
        switch kind {
        case .create:
            if response.status == 201, let id = response.locationID, let version = response.version {
                self.id = id
                self.version = version
                self.step = 0
                self.finishing = false
                self.next = .patch
            } else {
                if response.status == 201 { self.load.anomaly("create answered 201 without Location or ETag") }
                self.next = .create
            }
        case .patch:
            if response.status == 200, let version = response.version {
                if version != self.version + 1 { self.load.anomaly("PATCH moved the version by \(version - self.version), not 1") }
                self.version = version
                self.next = self.finishing ? .create : .get
            } else if response.status == 412 {
                self.load.anomaly("412 on a current If-Match")
                self.next = .get
            } else {
                self.next = .create
            }
        case .stalePatch:
            if response.status == 200 {
                self.load.anomaly("stale If-Match accepted (200, not 412)")
                self.version = response.version ?? self.version
                self.next = .get
            } else {
                self.next = response.status == 412 ? .patch : .create
            }
        case .get:
            if response.status == 200, let version = response.version {
                if version != self.version { self.load.anomaly("GET returned an older or newer version than the last PATCH answered") }
                self.version = version
                self.next = self.step >= self.patchesPerOperation ? .finish : .patch
            } else {
                self.next = .create
            }
        case .health, .healthWithToken:
            self.next = .create
        }
        self.issue()
    }

    func connectionClosed(_ connection: KeepAliveConnection, unanswered: [Int]) {
        for tag in unanswered { self.load.lost(RequestKind(rawValue: tag) ?? .get) }
    }
}
