import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix

/// An event loop of the waiter scenario and its state.
struct WaiterSlot: Sendable {
    let loop: any EventLoop
    let state: NIOLoopBound<WaiterLoop>
}

/// `operations waiters`: `waiters` connections, each parking one long-poll on one of
/// `operations` operations (`If-None-Match` of its version, `wait_seconds`); the hub's memory
/// before and once all are parked; then one PATCH per operation, and for every waiter the time
/// from its operation's PATCH being written to its 200, and whether it carried the new version.
///
/// "Parked" is observed from outside: every request is written, none is answered, and the hub's
/// CPU has dropped below `idleCPU` % over an `idleWindow` — the hub has nothing left to do for
/// them. (There is no event to wait for: a parked long-poll says nothing until it is answered.)
struct WaiterScenario: Sendable {
    var context: OperationsContext
    var waiters: Int
    var operations: Int
    var waitSeconds: Int
    var concurrency: Int
    var idleCPU: Double
    var idleWindow: Double
    var parkTimeout: Double
    /// Extra seconds between "parked" and reading the hub's memory.
    var settle: Double
    /// Seconds to keep the waiters parked after reading the memory (to look at the hub), before the PATCHes.
    var hold: Double = 0
    /// Open the connections and measure the hub's memory without sending any long-poll (the
    /// connections' own share of the waiters' cost).
    var connectionsOnly = false
    /// Write each connect batch's long-polls as soon as the batch is open.
    var sendOnConnect = false

    /// 10,000 waiters must cost the hub less than this (the target).
    static let targetMiB = 100.0
    static let targetWaiters = 10_000

    func run() async throws -> OperationsReport {
        let limit = SystemSupport.raiseFileDescriptorLimit()
        if limit < UInt64(self.waiters + self.operations + 64) {
            self.context.log("warning: fd limit \(limit) is below waiters + operations + 64; raise `ulimit -n` before starting")
        }
        return try await EventLoopGroups.with(threads: self.context.threads) { group in
            // The PATCHes go out from a loop of their own, not behind the waiters' reads.
            try await EventLoopGroups.with(threads: 1) { control in try await self.run(group, control: control.next()) }
        }
    }

    private func seconds(_ from: UInt64, _ to: UInt64 = SystemSupport.monotonicNanos()) -> Double {
        Double(to &- from) / 1e9
    }

    private func run(_ group: MultiThreadedEventLoopGroup, control loop: any EventLoop) async throws -> OperationsReport {
        let c = self.context
        var report = c.report("waiters")
        report.shape = [
            ("shape", "\(Report.int(self.waiters)) long-polls (1 connection each) over \(self.operations) operations, wait_seconds=\(self.waitSeconds), \(c.sourceIPs) source IPs"),
        ]
        let target = try c.target()
        let control = try await ControlClient.open(count: self.operations, target: target, loop: loop)
        let ops = try await c.createOperations(self.operations, control: control)
        c.log("run \(c.run): \(ops.count) operations created")

        var slots: [WaiterSlot] = []
        for loop in group.makeIterator() {
            let state = try await loop.submit { NIOLoopBound(WaiterLoop(loop: loop), eventLoop: loop) }.get()
            slots.append(WaiterSlot(loop: loop, state: state))
        }

        // 1. memory before, connect
        let before = ProcessMemory.sample(c.hubPids)
        c.log("connecting \(self.waiters) waiters (\(self.concurrency) connects in flight)")
        let operationCount = ops.count
        let heads = ops.map { c.requests.get(id: $0.id, ifNoneMatch: $0.version, waitSeconds: self.waitSeconds) }
        let sendOnConnect = self.sendOnConnect && !self.connectionsOnly
        let sendStart = SystemSupport.monotonicNanos()
        let outcome = await HTTPConnector.open(
            count: self.waiters, concurrency: self.concurrency, target: target, loops: slots.map(\.loop),
            install: { [slots] index, channel in
                let connection = KeepAliveConnection(index: index)
                try channel.pipeline.syncOperations.addHandler(connection)
                let waiterLoop = slots[index % slots.count].state.value
                waiterLoop.waiters.append(LongPollWaiter(operation: index % operationCount, connection: connection, group: waiterLoop))
            },
            batchOpened: { [slots] _ in
                guard sendOnConnect else { return }
                for slot in slots { try? await slot.loop.flatSubmit { slot.state.value.sendAll(heads) }.get() }
            })
        report.rows.append(("connect", "\(Report.int(outcome.opened)) opened, \(outcome.failed) failed in \(Report.num(outcome.seconds, 2)) s (\(Report.int(Int((Double(outcome.opened) / max(outcome.seconds, 1e-9)).rounded())))/s)"))
        for (reason, count) in outcome.failures { report.problems.append("\(count) connections failed: \(reason)") }

        if self.connectionsOnly {
            return try await self.measureIdleConnections(report, outcome: outcome, before: before, slots: slots, control: control)
        }

        // 2. park: write every long-poll (not yet written), then wait for the hub to go idle
        let parkHubStart = ProcessMemory.cpuMicros(c.hubPids)
        let parkSwitchesStart = ProcessMemory.contextSwitches(c.hubPids)
        let parkMachineStart = ProcessMemory.machineBusyMicros()
        let parkBenchStart = SystemSupport.selfCPUMicros()
        for slot in slots { try await slot.loop.flatSubmit { slot.state.value.sendAll(heads) }.get() }
        let writtenAt = SystemSupport.monotonicNanos()
        c.log("\(outcome.opened) long-polls written in \(Report.num(self.seconds(sendStart, writtenAt), 2)) s; waiting for the hub to go idle")
        let idle = try await self.waitForIdleHub(c.hubPids)
        let parkedAt = SystemSupport.monotonicNanos()
        var parkCPU = CPUFigure(
            label: "park", seconds: self.seconds(sendStart, parkedAt),
            hubMicros: Self.cpuSince(parkHubStart, c.hubPids),
            benchMicros: SystemSupport.selfCPUMicros() &- parkBenchStart,
            hubContextSwitches: Self.switchesSince(parkSwitchesStart, c.hubPids),
            machineMicros: Self.machineSince(parkMachineStart))
        parkCPU.requests = outcome.opened
        var answeredEarly = 0
        for slot in slots { answeredEarly += try await slot.loop.submit { slot.state.value.finished }.get() }
        let parkedText = idle.map { _ in
            "hub idle (CPU < \(Report.num(self.idleCPU, 0))% over \(Report.num(self.idleWindow, 2)) s) \(Report.num(self.seconds(sendStart, parkedAt), 2)) s after the first write; last write at \(Report.num(self.seconds(sendStart, writtenAt), 2)) s"
        } ?? "no --hub-pid: waited --settle \(self.settle) s instead of watching the hub's CPU"
        report.rows.append(("parked", parkedText + (answeredEarly > 0 ? "; \(answeredEarly) answered before the PATCH" : "; none answered yet")))
        if idle == false { report.problems.append("the hub did not go idle within --park-timeout \(self.parkTimeout) s") }
        if self.settle > 0 { try await Task.sleep(for: .milliseconds(Int64(self.settle * 1000))) }

        // 3. memory of the parked waiters
        let after = ProcessMemory.sample(c.hubPids)
        if self.hold > 0 {
            c.log("holding the parked waiters \(self.hold) s")
            try await Task.sleep(for: .milliseconds(Int64(self.hold * 1000)))
        }
        let parkedSeconds = self.seconds(sendStart)
        if parkedSeconds > Double(self.waitSeconds) - 5 {
            report.problems.append("parking took \(Report.num(parkedSeconds, 1)) s: too close to wait_seconds=\(self.waitSeconds) for the wake-up to be measured")
        }

        // 4. wake: one PATCH per operation, all at once; every waiter must get the new version
        var wakeDone: [EventLoopFuture<Void>] = []
        let wakeTimeout = TimeAmount.seconds(Int64(self.waitSeconds) + 10)
        for slot in slots { wakeDone.append(try await slot.loop.submit { slot.state.value.armWake(timeout: wakeTimeout) }.get()) }
        let patches = ops.map { op -> ControlRequest in
            let (head, body) = c.requests.patch(
                id: op.id, json: "{\"status\":\"in_progress\",\"progress\":1,\"message\":\"wake\"}", ifMatch: op.version, allocator: .init())
            return ControlRequest(head: head, body: body)
        }
        c.log("parked; sending \(patches.count) PATCHes")
        let wakeHubStart = ProcessMemory.cpuMicros(c.hubPids)
        let wakeSwitchesStart = ProcessMemory.contextSwitches(c.hubPids)
        let wakeMachineStart = ProcessMemory.machineBusyMicros()
        let wakeBenchStart = SystemSupport.selfCPUMicros()
        let wakeStart = SystemSupport.monotonicNanos()
        let answers = try await control.send(patches)
        for future in wakeDone { try await future.get() }
        let wakeEnd = SystemSupport.monotonicNanos()
        var wakeCPU = CPUFigure(
            label: "wake", seconds: self.seconds(wakeStart, wakeEnd),
            hubMicros: Self.cpuSince(wakeHubStart, c.hubPids),
            benchMicros: SystemSupport.selfCPUMicros() &- wakeBenchStart,
            hubContextSwitches: Self.switchesSince(wakeSwitchesStart, c.hubPids),
            machineMicros: Self.machineSince(wakeMachineStart))
        let sentNanos = answers.map(\.sentNanos)
        let newVersions = answers.map { $0.status == 200 ? $0.version : nil }
        var summary = WaiterSummary()
        for slot in slots {
            summary.merge(try await slot.loop.submit { slot.state.value.summary(patchSentNanos: sentNanos, newVersions: newVersions) }.get())
        }
        wakeCPU.requests = summary.ok
        let afterWake = ProcessMemory.sample(c.hubPids)
        for slot in slots { try await slot.loop.flatSubmit { slot.state.value.closeAll() }.get() }
        try await control.close()

        self.fill(&report, outcome: outcome, summary: summary, answers: answers, before: before, after: after, afterWake: afterWake)
        report.cpu = [parkCPU, wakeCPU]
        return report
    }

    /// `--connections-only`: the hub's memory with the connections open and idle, then close.
    private func measureIdleConnections(
        _ report: OperationsReport, outcome: ConnectOutcome, before: ProcessSample, slots: [WaiterSlot], control: ControlHandle
    ) async throws -> OperationsReport {
        var report = report
        let c = self.context
        _ = try await self.waitForIdleHub(c.hubPids)
        if self.settle > 0 { try await Task.sleep(for: .milliseconds(Int64(self.settle * 1000))) }
        let after = ProcessMemory.sample(c.hubPids)
        if self.hold > 0 { try await Task.sleep(for: .milliseconds(Int64(self.hold * 1000))) }
        for slot in slots { try await slot.loop.flatSubmit { slot.state.value.closeAll() }.get() }
        try await control.close()
        report.shape = [("shape", "\(Report.int(self.waiters)) idle keep-alive connections, no request (--connections-only)")]
        if let b = before.rssKiB, let a = after.rssKiB {
            let delta = Double(a) - Double(b)
            var text = "RSS \(Report.int(Int(b))) → \(Report.int(Int(a))) KiB = +\(Report.num(delta / 1024, 1)) MiB (\(Report.num(delta / Double(max(outcome.opened, 1)), 2)) KiB per connection)"
            if let pb = before.pssKiB, let pa = after.pssKiB { text += "; PSS +\(Report.num((Double(pa) - Double(pb)) / 1024, 1)) MiB" }
            report.rows.append(("hub memory", text))
            report.json.add("hub_rss_before_kib", Double(b))
            report.json.add("hub_rss_after_kib", Double(a))
            report.json.add("hub_rss_kib_per_connection", delta / Double(max(outcome.opened, 1)))
        }
        report.json.add("connections", outcome.opened)
        return report
    }

    /// The hub's CPU µs since `start` (nil without a readable pid).
    private static func cpuSince(_ start: UInt64?, _ pids: [Int32]) -> UInt64? {
        guard let start, let now = ProcessMemory.cpuMicros(pids) else { return nil }
        return now &- start
    }

    /// The machine's busy CPU µs since `start`.
    private static func machineSince(_ start: UInt64?) -> UInt64? {
        guard let start, let now = ProcessMemory.machineBusyMicros() else { return nil }
        return now &- start
    }

    /// The hub's context switches since `start`.
    private static func switchesSince(_ start: ThreadSwitches?, _ pids: [Int32]) -> UInt64? {
        guard let start, let now = ProcessMemory.contextSwitches(pids) else { return nil }
        return now.since(start)
    }

    /// Samples the hub's CPU every `idleWindow` until one window is below `idleCPU` %: true when
    /// it went idle, false at `parkTimeout`, nil without a hub pid (then `settle` is all there is).
    private func waitForIdleHub(_ pids: [Int32]) async throws -> Bool? {
        guard var last = ProcessMemory.cpuMicros(pids) else { return nil }
        let start = SystemSupport.monotonicNanos()
        var lastAt = start
        while self.seconds(start) < self.parkTimeout {
            try await Task.sleep(for: .milliseconds(Int64(self.idleWindow * 1000)))
            guard let now = ProcessMemory.cpuMicros(pids) else { return nil }
            let at = SystemSupport.monotonicNanos()
            let percent = Double(now &- last) / (Double(at &- lastAt) / 1e3) * 100
            if percent < self.idleCPU { return true }
            last = now
            lastAt = at
        }
        return false
    }

    private func fill(
        _ report: inout OperationsReport, outcome: ConnectOutcome, summary s: WaiterSummary, answers: [HTTPResponseSummary],
        before: ProcessSample, after: ProcessSample, afterWake: ProcessSample
    ) {
        var patchLatency = RequestStats()
        for answer in answers { patchLatency.record(answer, expectedStatus: 200) }
        let patchStatuses = patchLatency.statusCounts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        report.rows.append(("wake PATCHes", "\(answers.count) (\(patchStatuses)), answered p50 \(OperationsReport.ms(patchLatency.percentileMillis(50))) max \(OperationsReport.ms(patchLatency.maxMillis))"))
        if patchLatency.failed > 0 { report.problems.append("\(patchLatency.failed) wake-up PATCHes not answered 200") }

        if let b = before.rssKiB, let a = after.rssKiB {
            let deltaKiB = Double(a) - Double(b)
            var text = "RSS \(Report.int(Int(b))) → \(Report.int(Int(a))) KiB = +\(Report.num(deltaKiB / 1024, 1)) MiB (\(Report.num(deltaKiB / Double(max(s.sent, 1)), 2)) KiB per waiter)"
            if let pb = before.pssKiB, let pa = after.pssKiB {
                let pss = Double(pa) - Double(pb)
                text += "; PSS +\(Report.num(pss / 1024, 1)) MiB (\(Report.num(pss / Double(max(s.sent, 1)), 2)) KiB per waiter)"
                report.json.add("hub_pss_before_kib", Double(pb))
                report.json.add("hub_pss_after_kib", Double(pa))
            }
            report.rows.append(("hub memory", text))
            if let w = afterWake.rssKiB { report.rows.append(("  after wake", "RSS \(Report.int(Int(w))) KiB")) }
            report.json.add("hub_rss_before_kib", Double(b))
            report.json.add("hub_rss_after_kib", Double(a))
            report.json.add("hub_rss_after_wake_kib", afterWake.rssKiB.map { Double($0) })
            report.json.add("hub_rss_kib_per_waiter", deltaKiB / Double(max(s.sent, 1)))
            let scaledMiB = deltaKiB / Double(max(s.sent, 1)) * Double(Self.targetWaiters) / 1024
            report.targets.append(
                TargetCheck(
                    name: "\(Report.int(Self.targetWaiters)) waiters < \(Int(Self.targetMiB)) MiB",
                    measured: s.sent == Self.targetWaiters
                        ? "+\(Report.num(scaledMiB, 1)) MiB RSS"
                        : "+\(Report.num(scaledMiB, 1)) MiB RSS (scaled from \(Report.int(s.sent)) waiters)",
                    met: s.sent > 0 ? scaledMiB < Self.targetMiB : nil))
        } else {
            report.targets.append(TargetCheck(name: "\(Report.int(Self.targetWaiters)) waiters < \(Int(Self.targetMiB)) MiB", measured: "no --hub-pid", met: nil))
        }

        let h = s.wake
        if h.totalCount > 0 {
            report.rows.append(("wake latency", "p50 \(OperationsReport.ms(Double(h.valueAtPercentile(50)) / 1000))  p99 \(OperationsReport.ms(Double(h.valueAtPercentile(99)) / 1000))  p99.9 \(OperationsReport.ms(Double(h.valueAtPercentile(99.9)) / 1000))  max \(OperationsReport.ms(Double(h.max) / 1000))  (PATCH written → the waiter's 200)"))
        }
        report.rows.append(("waiters", "\(Report.int(s.ok)) of \(Report.int(s.sent)) got the new version; wrong version \(s.wrongVersion), 304 \(s.notModified), other status \(s.otherStatus), answered early \(s.early), connection closed \(s.closedUnanswered), unanswered \(s.unanswered)" + (s.notSent > 0 ? "; \(s.notSent) never sent" : "")))
        for (status, sample) in s.samples.sorted(by: { $0.key < $1.key }) { report.rows.append(("  \(status)", sample)) }
        report.targets.append(
            TargetCheck(name: "every waiter gets the new version (none lost, timed out or 304)", measured: "\(Report.int(s.ok)) of \(Report.int(s.sent))", met: s.sent > 0 && s.missed == 0 && s.notSent == 0))
        if s.missed > 0 { report.problems.append("\(s.missed) waiters did not get the new version") }
        if s.notSent > 0 { report.problems.append("\(s.notSent) waiters never sent their long-poll") }

        report.json.add("waiters", self.waiters)
        report.json.add("operations", self.operations)
        report.json.add("wait_seconds", self.waitSeconds)
        report.json.add("connected", outcome.opened)
        report.json.add("connect_failed", outcome.failed)
        report.json.add("connect_s", outcome.seconds)
        report.json.add("sent", s.sent)
        report.json.add("ok", s.ok)
        report.json.add("wrong_version", s.wrongVersion)
        report.json.add("not_modified", s.notModified)
        report.json.add("other_status", s.otherStatus)
        report.json.add("early", s.early)
        report.json.add("closed_unanswered", s.closedUnanswered)
        report.json.add("unanswered", s.unanswered)
        report.json.addRaw("status", JSONObject.map(s.statusCounts))
        report.json.add("wake_p50_ms", h.totalCount > 0 ? Double(h.valueAtPercentile(50)) / 1000 : nil)
        report.json.add("wake_p99_ms", h.totalCount > 0 ? Double(h.valueAtPercentile(99)) / 1000 : nil)
        report.json.add("wake_p999_ms", h.totalCount > 0 ? Double(h.valueAtPercentile(99.9)) / 1000 : nil)
        report.json.add("wake_max_ms", h.totalCount > 0 ? Double(h.max) / 1000 : nil)
        report.json.add("patch_p50_ms", patchLatency.percentileMillis(50))
        report.json.add("patch_max_ms", patchLatency.maxMillis)
    }
}
