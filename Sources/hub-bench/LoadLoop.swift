import NIOCore

/// A connection's request loop in the `operations crud|get` scenarios.
protocol LoadWorker: AnyObject {
    /// Called on the loop when a phase starts: keep issuing requests while `LoadLoop.running`.
    func start()
}

/// The connections and workers of one event loop in the closed-loop scenarios (`operations crud`,
/// `operations get`) and what they measured. Only touched on that loop (held in a `NIOLoopBound`),
/// so the response path takes no lock; the scenario merges one summary per loop at the end.
///
/// A phase: `start()` (workers issue requests, nothing is recorded), `beginWindow` (answers are
/// recorded from now on), `endWindow`, `stop()` (no new requests; its future completes when the
/// last answer is in). Only answers that arrive inside the window count.
final class LoadLoop {
    let loop: any EventLoop
    var connections: [KeepAliveConnection] = []
    var workers: [any LoadWorker] = []
    /// What `ReadWorker`s request in the current phase.
    var phase: RequestKind = .health

    private var stats = [RequestStats](repeating: RequestStats(), count: RequestKind.allCases.count)
    private(set) var running = false
    private(set) var measuring = false
    private var windowStart: UInt64 = 0
    private var windowKinds: [RequestKind] = []
    private(set) var inFlight = 0
    private var drained: EventLoopPromise<Void>?
    /// Consistency problems the workers saw, by description (see `CrudWorker`).
    private(set) var anomalies: [String: Int] = [:]

    init(loop: any EventLoop) {
        self.loop = loop
    }

    // MARK: driven by the workers

    func sent() {
        self.inFlight += 1
    }

    func finished(_ kind: RequestKind, _ response: HTTPResponseSummary) {
        self.inFlight -= 1
        if self.measuring { self.stats[kind.rawValue].record(response, expectedStatus: kind.expectedStatus) }
        if !self.running && self.inFlight == 0, let drained = self.drained {
            self.drained = nil
            drained.succeed(())
        }
    }

    /// A request lost with its connection.
    func lost(_ kind: RequestKind) {
        self.finished(kind, HTTPResponseSummary())
    }

    func anomaly(_ what: String) {
        self.anomalies[what, default: 0] += 1
    }

    // MARK: driven by the scenario

    func start() {
        self.running = true
        for worker in self.workers { worker.start() }
    }

    func beginWindow(kinds: [RequestKind]) {
        self.measuring = true
        self.windowKinds = kinds
        self.windowStart = SystemSupport.monotonicNanos()
    }

    func endWindow() {
        guard self.measuring else { return }
        self.measuring = false
        let seconds = Double(SystemSupport.monotonicNanos() &- self.windowStart) / 1e9
        for kind in self.windowKinds { self.stats[kind.rawValue].seconds += seconds }
    }

    /// Stops issuing requests; succeeds when every request in flight is answered (or lost).
    func stop() -> EventLoopFuture<Void> {
        self.running = false
        if self.inFlight == 0 { return self.loop.makeSucceededVoidFuture() }
        let promise = self.drained ?? self.loop.makePromise(of: Void.self)
        self.drained = promise
        return promise.futureResult
    }

    /// Figures by kind (kinds never measured are left out).
    func summary() -> LoadSummary {
        var byKind: [RequestKind: RequestStats] = [:]
        for kind in RequestKind.allCases where self.stats[kind.rawValue].seconds > 0 {
            var s = self.stats[kind.rawValue]
            s.finishLoop()
            byKind[kind] = s
        }
        return LoadSummary(byKind: byKind, anomalies: self.anomalies, openConnections: self.connections.filter(\.isActive).count)
    }

    func closeAll() -> EventLoopFuture<Void> {
        EventLoopFuture.andAllComplete(self.connections.compactMap { $0.close() }, on: self.loop)
    }
}

/// What the loops measured, merged.
struct LoadSummary: Sendable {
    var byKind: [RequestKind: RequestStats] = [:]
    var anomalies: [String: Int] = [:]
    var openConnections = 0

    mutating func merge(_ o: LoadSummary) {
        for (kind, stats) in o.byKind {
            if self.byKind[kind] == nil { self.byKind[kind] = stats } else { self.byKind[kind]!.merge(stats) }
        }
        self.anomalies.merge(o.anomalies, uniquingKeysWith: +)
        self.openConnections += o.openConnections
    }
}
