import NIOCore
import NIOPosix

/// `operations get`: the same connections, in turn, asking `GET /health` (no token),
/// `GET /api/v1/operations/{id}` and `GET /health` with the token, each for `warmup` +
/// `duration` seconds, `rounds` times; the rates, their ratio, and the hub's CPU per request.
struct ReadScenario: Sendable {
    var context: OperationsContext
    var connections: Int
    var depth: Int
    var operations: Int
    var phases: [RequestKind]
    var rounds: Int
    var duration: Double
    var warmup: Double
    var concurrency: Int

    /// GET /operations/{id} must reach this share of GET /health (the target).
    static let targetRatio = 0.70

    func run() async throws -> OperationsReport {
        SystemSupport.raiseFileDescriptorLimit()
        return try await EventLoopGroups.with(threads: self.context.threads) { try await self.run($0) }
    }

    private func run(_ group: MultiThreadedEventLoopGroup) async throws -> OperationsReport {
        let c = self.context
        var report = c.report("get")
        report.shape = [
            ("shape", "\(self.connections) connections × \(self.depth) in flight, \(self.operations) operations; phases \(self.phases.map(\.name).joined(separator: ", ")) × \(self.rounds) round(s), each \(Report.num(self.warmup, 1)) s warm-up + \(Report.num(self.duration, 1)) s measured"),
        ]
        let target = try c.target()
        let control = try await ControlClient.open(count: 1, target: target, loop: group.next())
        let ops = try await c.createOperations(self.operations, control: control)
        try await control.close()

        let runner = try await LoadRunner.make(group)
        c.log("run \(c.run): \(ops.count) operations created; opening \(self.connections) connections to \(c.host):\(c.port)")
        let outcome = await runner.open(count: self.connections, concurrency: self.concurrency, target: target)
        report.rows.append(("connections", "\(outcome.opened) opened, \(outcome.failed) failed"))
        for (reason, count) in outcome.failures { report.problems.append("\(count) connections failed: \(reason)") }
        guard outcome.opened > 0 else { return report }

        let requests = c.requests
        let ids = ops.map(\.id)
        let depth = self.depth
        try await runner.attach { connection, load in
            ReadWorker(connection: connection, load: load, requests: requests, operationID: ids[connection.index % ids.count], depth: depth)
        }
        var cpuByKind: [RequestKind: CPUFigure] = [:]
        for round in 0..<self.rounds {
            for kind in self.phases {
                c.log("round \(round + 1)/\(self.rounds): \(kind.request)")
                let figure = try await runner.phase(read: kind, kinds: [kind], warmup: self.warmup, duration: self.duration, hubPids: c.hubPids)
                if var sum = cpuByKind[kind] {
                    sum.seconds += figure.seconds
                    sum.benchMicros += figure.benchMicros
                    if let a = sum.hubMicros, let b = figure.hubMicros { sum.hubMicros = a + b } else { sum.hubMicros = nil }
                    if let a = sum.machineMicros, let b = figure.machineMicros { sum.machineMicros = a + b } else { sum.machineMicros = nil }
                    if let a = sum.hubContextSwitches, let b = figure.hubContextSwitches { sum.hubContextSwitches = a + b } else { sum.hubContextSwitches = nil }
                    cpuByKind[kind] = sum
                } else {
                    cpuByKind[kind] = figure
                }
            }
        }
        let summary = try await runner.summary()
        try await runner.close()

        report.kinds = self.phases.map { ($0, summary.byKind[$0] ?? RequestStats()) }
        report.cpu = self.phases.compactMap { kind in
            guard var figure = cpuByKind[kind] else { return nil }
            figure.requests = summary.byKind[kind]?.ok ?? 0
            return figure
        }
        report.json.add("connections", self.connections)
        report.json.add("depth", self.depth)
        report.json.add("operations", self.operations)
        report.json.add("rounds", self.rounds)
        report.json.add("duration_s", self.duration)
        report.json.add("warmup_s", self.warmup)

        let get = summary.byKind[.get]?.okPerSecond ?? 0
        if let health = summary.byKind[.health]?.okPerSecond, health > 0, summary.byKind[.get] != nil {
            let ratio = get / health
            report.rows.append(("get / health", "\(Report.num(ratio * 100, 1))%  (\(Report.int(Int(get.rounded())))/s vs \(Report.int(Int(health.rounded())))/s)"))
            report.json.add("get_to_health_ratio", ratio)
            report.targets.append(
                TargetCheck(
                    name: "GET /operations/{id} ≥ \(Int(Self.targetRatio * 100))% of GET /health",
                    measured: "\(Report.num(ratio * 100, 1))%", met: ratio >= Self.targetRatio))
        }
        if let withToken = summary.byKind[.healthWithToken]?.okPerSecond, withToken > 0, summary.byKind[.get] != nil {
            let ratio = get / withToken
            report.rows.append(("get / health_token", "\(Report.num(ratio * 100, 1))%  (the route's own share: both carry the token)"))
            report.json.add("get_to_health_token_ratio", ratio)
        }
        let figures = report.cpu
        let perRequest = { (kind: RequestKind) in figures.first { $0.label == kind.name }?.hubMicrosPerRequest }
        if let g = perRequest(.get), let h = perRequest(.health) {
            report.rows.append(("hub CPU per request", "get \(Report.num(g, 1)) µs vs health \(Report.num(h, 1)) µs (×\(Report.num(g / max(h, 0.001), 2)))"))
            report.json.add("hub_us_per_get", g)
            report.json.add("hub_us_per_health", h)
        }
        report.checkKinds()
        if summary.openConnections < outcome.opened {
            report.problems.append("\(outcome.opened - summary.openConnections) connections closed by the hub")
        }
        return report
    }
}
