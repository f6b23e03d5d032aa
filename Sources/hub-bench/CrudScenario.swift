import NIOCore
import NIOPosix

/// `operations crud`: `workers` connections, each running a `CrudWorker` (create → PATCH with
/// If-Match → GET → … → PATCH succeeded → create …) for `warmup` + `duration` seconds; the
/// rate and latency of each kind of request over the measured `duration`.
struct CrudScenario: Sendable {
    var context: OperationsContext
    var workers: Int
    var duration: Double
    var warmup: Double
    var patchesPerOperation: Int
    var staleEvery: Int
    var concurrency: Int

    func run() async throws -> OperationsReport {
        SystemSupport.raiseFileDescriptorLimit()
        return try await EventLoopGroups.with(threads: self.context.threads) { try await self.run($0) }
    }

    private func run(_ group: MultiThreadedEventLoopGroup) async throws -> OperationsReport {
        let c = self.context
        var report = c.report("crud")
        report.shape = [
            ("shape", "\(self.workers) workers (1 connection each, 1 request in flight), \(Report.num(self.warmup, 1)) s warm-up + \(Report.num(self.duration, 1)) s measured"),
            ("cycle", "create → (PATCH If-Match → GET) × \(self.patchesPerOperation) → PATCH succeeded" + (self.staleEvery > 0 ? "; every \(self.staleEvery)th PATCH with a stale If-Match (expects 412)" : "")),
        ]
        let runner = try await LoadRunner.make(group)
        c.log("run \(c.run): opening \(self.workers) connections to \(c.host):\(c.port)")
        let outcome = await runner.open(count: self.workers, concurrency: self.concurrency, target: try c.target())
        report.rows.append(("connections", "\(outcome.opened) opened, \(outcome.failed) failed"))
        for (reason, count) in outcome.failures { report.problems.append("\(count) connections failed: \(reason)") }
        guard outcome.opened > 0 else { return report }

        let requests = c.requests
        let run = c.run
        let patches = self.patchesPerOperation
        let stale = self.staleEvery
        try await runner.attach { connection, load in
            CrudWorker(
                connection: connection, load: load, requests: requests, run: run, index: connection.index,
                patchesPerOperation: patches, staleEvery: stale)
        }
        var kinds: [RequestKind] = [.create, .patch, .get]
        if stale > 0 { kinds.insert(.stalePatch, at: 2) }
        c.log("running \(Report.num(self.warmup, 1)) s warm-up + \(Report.num(self.duration, 1)) s measured")
        var cpu = try await runner.phase(read: nil, kinds: kinds, warmup: self.warmup, duration: self.duration, hubPids: c.hubPids)
        let summary = try await runner.summary()
        try await runner.close()

        report.kinds = kinds.map { ($0, summary.byKind[$0] ?? RequestStats()) }
        let ok = report.kinds.reduce(0) { $0 + $1.1.ok }
        let rate = report.kinds.reduce(0.0) { $0 + $1.1.okPerSecond }
        cpu.requests = ok
        report.cpu = [cpu]
        report.rows.append(("all requests", "\(Report.int(Int(rate.rounded())))/s (\(Report.int(ok)) answered as expected)"))
        report.json.add("workers", self.workers)
        report.json.add("duration_s", self.duration)
        report.json.add("warmup_s", self.warmup)
        report.json.add("patches_per_operation", self.patchesPerOperation)
        report.json.add("stale_every", self.staleEvery)
        report.json.add("requests_per_s", rate)
        report.json.addRaw("anomalies", JSONObject.map(summary.anomalies))
        report.checkKinds()
        for (what, count) in summary.anomalies.sorted(by: { $0.key < $1.key }) { report.problems.append("\(count) × \(what)") }
        if summary.openConnections < outcome.opened {
            report.problems.append("\(outcome.opened - summary.openConnections) connections closed by the hub")
        }
        return report
    }
}
