import ArgumentParser
import Histogram
import NIOCore
import NIOPosix

/// Runs one scenario: connect → (memory) → warm-up → publish → drain → report.
struct BenchRunner {
    let settings: BenchSettings

    static func runAndExit(_ settings: BenchSettings) async throws {
        let report = try await BenchRunner(settings: settings).run()
        SystemSupport.writeStdout(settings.json ? report.jsonLine() + "\n" : report.table())
        if !report.ok { throw ExitCode(1) }
    }

    private func log(_ text: String) {
        if !self.settings.quiet { SystemSupport.writeStderr("[hub-bench] \(text)\n") }
    }

    private static func sleep(seconds: Double) async throws {
        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
    }

    private static func seconds(since start: UInt64, _ now: UInt64 = SystemSupport.monotonicNanos()) -> Double {
        Double(now &- start) / 1e9
    }

    func run() async throws -> Report {
        let fdLimit = SystemSupport.raiseFileDescriptorLimit()
        if fdLimit < UInt64(self.settings.connections + 64) {
            self.log("warning: fd limit \(fdLimit) is below n + 64; raise `ulimit -n` (as root) before starting")
        }
        return try await EventLoopGroups.with(threads: self.settings.threads) { group in
            try await EventLoopGroups.with(threads: 1) { publishGroup in try await self.run(group: group, publishGroup: publishGroup) }
        }
    }

    private func run(group: MultiThreadedEventLoopGroup, publishGroup: MultiThreadedEventLoopGroup) async throws -> Report {
        let s = self.settings
        var report = Report()
        report.scenario = s.scenarioName
        report.runID = s.topics.run
        report.host = s.host
        report.port = s.port
        if s.subscriberPorts != [s.port] { report.subscriberPorts = s.subscriberPorts.map(String.init).joined(separator: ",") }
        report.connections = s.connections
        report.messages = s.scenario == .none ? 0 : s.messages
        report.rate = s.rate
        report.size = s.size
        report.threads = s.threads
        report.sourceIPs = s.sourceIPs
        report.concurrency = s.concurrency
        report.window = s.window

        let server = try SocketAddress.makeAddressResolvingHost(s.host, port: s.port)
        let sources = try (0..<s.sourceIPs).map { try SocketAddress(ipAddress: "127.0.0.\($0 + 1)", port: 0) }
        var slots: [LoopSlot] = []
        for loop in group.makeIterator() {
            let stats = try await loop.submit { NIOLoopBound(LoopStats(), eventLoop: loop) }.get()
            slots.append(LoopSlot(loop: loop, stats: stats))
        }
        let expectation = Expectation(mode: s.scenario, connections: s.connections, messages: s.messages)
        let plan = ConnectPlan(
            servers: try s.subscriberPorts.map { try SocketAddress.makeAddressResolvingHost(s.host, port: $0) },
            hostHeader: "\(s.host):\(s.port)",
            uri: "\(s.path)?token=\(s.token)",
            count: s.connections,
            concurrency: s.concurrency,
            sourceAddresses: sources,
            topics: s.topics,
            sharedTopic: s.scenario == .fanout,
            expectation: expectation,
            handshakeTimeout: .milliseconds(Int64(s.handshakeTimeout * 1000)),
            maxFrameSize: max(1 << 16, 2 * s.size + 4096)
        )

        // 1. connect
        let memoryBefore = ProcessMemory.sample(s.hubPids)
        self.log("run \(s.topics.run): connecting \(s.connections) to \(s.host):\(s.port) (\(s.concurrency) handshakes in flight)")
        let launched = ConnectionLauncher.launch(plan, slots: slots, control: slots[0].loop)
        var lastLog = SystemSupport.monotonicNanos()
        while true {
            let p = try await Self.progress(slots)
            if p.subscribed + p.failed >= s.connections { break }
            if Self.seconds(since: lastLog) >= 1 {
                lastLog = SystemSupport.monotonicNanos()
                self.log("  \(p.subscribed) subscribed, \(p.failed) failed")
            }
            try await Self.sleep(seconds: 0.02)
        }
        try await launched.get()
        var progress = try await Self.progress(slots)
        self.log("connected: \(progress.subscribed) subscribed, \(progress.failed) failed")

        // 2. idle memory of the hub (connect only: later scenarios run on a hub that already grew)
        if !s.hubPids.isEmpty && s.scenario == .none {
            try await Self.sleep(seconds: s.settle)
            let after = ProcessMemory.sample(s.hubPids)
            report.hubRSSBeforeKiB = memoryBefore.rssKiB
            report.hubRSSAfterKiB = after.rssKiB
            report.hubPSSBeforeKiB = memoryBefore.pssKiB
            report.hubPSSAfterKiB = after.pssKiB
        }
        if let readyFile = s.readyFile, !SystemSupport.writeFile(readyFile, "\(progress.subscribed)\n") {
            self.log("warning: could not write \(readyFile)")
        }

        // 3. warm-up, publish, drain
        var publisher: NIOLoopBound<Publisher>?
        let publishLoop = publishGroup.next()
        if s.scenario != .none && progress.subscribed == 0 {
            report.drainEnd = "not run: no connection subscribed"
        }
        if s.scenario != .none && progress.subscribed > 0 {
            let config = PublisherConfig(
                server: server,
                hostHeader: "\(s.host):\(s.port)",
                token: s.token,
                topics: s.topics,
                window: s.window,
                connections: s.publishConnections,
                padBytes: s.size
            )
            let started = try await Publisher.start(config, on: publishLoop).get()
            publisher = started
            try await self.warmUp(started, loop: publishLoop, slots: slots)
            try await self.publishAndDrain(started, loop: publishLoop, slots: slots, expectation: expectation, report: &report)
            progress = try await Self.progress(slots)
        }

        // 4. hold
        if s.hold > 0 {
            self.log("holding \(progress.subscribed) connections for \(s.hold) s" + (s.releaseFile.map { " (or until \($0) exists)" } ?? ""))
            let start = SystemSupport.monotonicNanos()
            while Self.seconds(since: start) < s.hold {
                if let release = s.releaseFile, SystemSupport.fileExists(release) { break }
                try await Self.sleep(seconds: 0.2)
            }
        }

        // 5. collect, close
        var total: LoopSummary?
        for slot in slots {
            let summary = try await slot.loop.submit { slot.stats.value.summary(expectation) }.get()
            if total == nil { total = summary } else { total!.merge(summary) }
        }
        for slot in slots {
            try await slot.loop.flatSubmit {
                let handlers = slot.stats.value.handlers
                let closing = handlers.compactMap { $0.closeGracefully() }
                return EventLoopFuture.andAllComplete(closing, on: slot.loop)
            }.get()
        }
        if let publisher {
            try await publishLoop.flatSubmit { publisher.value.close() }.get()
        }

        if let t = total {
            Self.fill(&report, with: t)
        }
        return report
    }

    private func warmUp(_ publisher: NIOLoopBound<Publisher>, loop: any EventLoop, slots: [LoopSlot]) async throws {
        let s = self.settings
        let warm = PublishBatch(
            count: s.scenario == .fanout ? 1 : s.connections,
            warmup: true,
            sharedTopic: s.scenario == .fanout,
            topicCount: s.connections,
            rate: 0
        )
        self.log("warm-up: \(warm.count) event(s)")
        try await loop.submit { publisher.value.start(warm) }.get()
        var lastCount = -1
        var lastChange = SystemSupport.monotonicNanos()
        while true {
            let p = try await Self.progress(slots)
            let (done, _) = try await loop.submit { publisher.value.progress() }.get()
            if done && p.warmupReceived >= p.subscribed - p.closedByServer { break }
            if p.warmupReceived != lastCount {
                lastCount = p.warmupReceived
                lastChange = SystemSupport.monotonicNanos()
            } else if Self.seconds(since: lastChange) > max(s.stall, 1) {
                let result = try await loop.submit { publisher.value.currentResult }.get()
                self.log("warning: warm-up reached \(p.warmupReceived) of \(p.subscribed) connections (publish status \(result.statusCounts), errors \(result.errors))")
                break
            }
            try await Self.sleep(seconds: 0.01)
        }
    }

    private func publishAndDrain(
        _ publisher: NIOLoopBound<Publisher>,
        loop: any EventLoop,
        slots: [LoopSlot],
        expectation: Expectation,
        report: inout Report
    ) async throws {
        let s = self.settings
        var expected = 0
        for slot in slots {
            expected += try await slot.loop.submit { slot.stats.value.expectedTotal(expectation) }.get()
        }
        let batch = PublishBatch(
            count: s.messages,
            warmup: false,
            sharedTopic: s.scenario == .fanout,
            topicCount: s.connections,
            rate: s.rate
        )
        self.log("publishing \(s.messages) events (\(s.rate > 0 ? "\(s.rate)/s" : "unthrottled"), window \(s.window)); expecting \(expected) deliveries")
        let start = SystemSupport.monotonicNanos()
        let hubCPUStart = ProcessMemory.cpuMicros(s.hubPids)
        let benchCPUStart = SystemSupport.selfCPUMicros()
        var hubCPUEnd = hubCPUStart
        var benchCPUEnd = benchCPUStart
        var cpuEndNanos = start
        try await loop.submit { publisher.value.start(batch) }.get()

        var lastFrames = -1
        var lastChange = start
        var publishDoneAt: UInt64?
        var lastLog = start
        var drainEnd = ""
        while true {
            try await Self.sleep(seconds: 0.01)
            let p = try await Self.progress(slots)
            let (done, completed) = try await loop.submit { publisher.value.progress() }.get()
            let now = SystemSupport.monotonicNanos()
            if p.eventFrames != lastFrames {
                lastFrames = p.eventFrames
                lastChange = now
                hubCPUEnd = ProcessMemory.cpuMicros(s.hubPids)
                benchCPUEnd = SystemSupport.selfCPUMicros()
                cpuEndNanos = now
            }
            if done && publishDoneAt == nil { publishDoneAt = now }
            if let publishDoneAt {
                if p.unique >= expected {
                    drainEnd = "all arrived"
                    break
                }
                if Self.seconds(since: max(lastChange, publishDoneAt), now) > s.stall {
                    drainEnd = "nothing arrived for \(s.stall) s"
                    break
                }
            }
            // Hard stop: --drain-timeout after publishing ended (or after the paced publishing should have ended).
            let publishingTime = s.rate > 0 ? Double(s.messages) / s.rate : 0
            let overdue = publishDoneAt.map { Self.seconds(since: $0, now) } ?? (Self.seconds(since: start, now) - publishingTime)
            if overdue > s.drainTimeout {
                drainEnd = publishDoneAt == nil ? "publishing did not finish within --drain-timeout" : "drain timeout \(s.drainTimeout) s"
                break
            }
            if Self.seconds(since: lastLog, now) >= 1 {
                lastLog = now
                self.log("  published \(completed)/\(s.messages), received \(p.unique)/\(expected), closed by server \(p.closedByServer)")
            }
        }
        let result = try await loop.submit { publisher.value.currentResult }.get()
        report.publish = result
        report.drainEnd = drainEnd
        if result.lastResponseNanos > result.firstSendNanos, result.accepted > 1 {
            report.publishesPerSecond = Double(result.accepted) / (Double(result.lastResponseNanos - result.firstSendNanos) / 1e9)
        }
        let cpuWindowMicros = Double(cpuEndNanos &- start) / 1000
        if cpuWindowMicros > 0 {
            if let a = hubCPUStart, let b = hubCPUEnd { report.hubCPUPercent = Double(b - a) / cpuWindowMicros * 100 }
            report.benchCPUPercent = Double(benchCPUEnd - benchCPUStart) / cpuWindowMicros * 100
        }
        let final = try await Self.progress(slots)
        if final.unique > 0 {
            if let a = hubCPUStart, let b = hubCPUEnd { report.hubMicrosPerDelivery = Double(b - a) / Double(final.unique) }
            report.benchMicrosPerDelivery = Double(benchCPUEnd - benchCPUStart) / Double(final.unique)
        }
        self.log("drained: \(drainEnd)")
    }

    private static func fill(_ report: inout Report, with t: LoopSummary) {
        report.connected = t.subscribed
        report.failedConnections = t.failed
        report.failureReasons = t.failureReasons
        report.handshake = t.handshake
        if t.subscribed > 0, t.lastSubscribedNanos > t.firstConnectNanos {
            report.connectSeconds = Double(t.lastSubscribedNanos - t.firstConnectNanos) / 1e9
            report.connectsPerSecond = Double(t.subscribed) / report.connectSeconds
        }
        report.warmupMissing = report.scenario == "connect" ? 0 : t.warmupMissing
        report.expected = t.expected
        report.received = t.unique
        report.lost = t.lost
        report.connectionsWithLoss = t.connectionsWithLoss
        report.duplicates = t.duplicates
        report.outOfOrder = t.outOfOrder
        report.unexpected = t.unexpected
        report.latency = t.latency
        report.closedByServer = t.closedByServer
        report.closeCodes = t.closeCodes
        report.frames = t.frames
        if let first = report.publish?.firstSendNanos, first > 0, t.lastEventNanos > first, t.unique > 0 {
            report.durationSeconds = Double(t.lastEventNanos - first) / 1e9
            report.deliveredPerSecond = Double(t.unique) / report.durationSeconds
        }
    }

    private static func progress(_ slots: [LoopSlot]) async throws -> Progress {
        var total = Progress()
        for slot in slots {
            total.add(try await slot.loop.submit { slot.stats.value.progress() }.get())
        }
        return total
    }
}
