import Foundation
import Histogram

/// Every figure of one run; printed as a table or as one JSON line (`--json`).
struct Report: Sendable {
    // what ran
    var scenario = ""
    var runID = ""
    var host = ""
    var port = 0
    /// Where the subscribers were (comma-separated), when not only `port`.
    var subscriberPorts = ""
    var connections = 0
    var messages = 0
    var rate = 0.0
    var size = 0
    var threads = 1
    var sourceIPs = 0
    var concurrency = 0
    var window = 0

    // connect phase
    var connected = 0
    var failedConnections = 0
    var failureReasons: [String: Int] = [:]
    var connectSeconds = 0.0
    var connectsPerSecond = 0.0
    var handshake: Histogram<UInt64>?

    // idle memory of the hub (connect)
    var hubRSSBeforeKiB: UInt64?
    var hubRSSAfterKiB: UInt64?
    var hubPSSBeforeKiB: UInt64?
    var hubPSSAfterKiB: UInt64?

    // publishing (fanout/topics)
    var warmupMissing = 0
    var publish: PublishResult?
    var publishesPerSecond = 0.0

    // delivery
    var expected = 0
    var received = 0
    var lost = 0
    var connectionsWithLoss = 0
    var duplicates = 0
    var outOfOrder = 0
    var unexpected = 0
    var deliveredPerSecond = 0.0
    var latency: Histogram<UInt64>?
    var drainEnd = ""
    var closedByServer = 0
    var closeCodes: [Int: Int] = [:]
    var frames = FrameCounts()

    // CPU over first publish → last receipt
    var durationSeconds = 0.0
    var hubCPUPercent: Double?
    var benchCPUPercent: Double?
    var hubMicrosPerDelivery: Double?
    var benchMicrosPerDelivery: Double?

    var measuresDelivery: Bool { self.scenario != "connect" }

    var ok: Bool {
        self.failedConnections == 0 && self.lost == 0 && self.closedByServer == 0 && self.connected > 0
            && (self.publish.map { $0.errors == 0 && $0.rejected == 0 } ?? true)
    }

    private func perConnection(_ before: UInt64?, _ after: UInt64?) -> Double? {
        guard let before, let after, self.connected > 0 else { return nil }
        return (Double(after) - Double(before)) / Double(self.connected)
    }

    // MARK: JSON

    func jsonLine() -> String {
        var o = JSONObject()
        o.add("scenario", self.scenario)
        o.add("run_id", self.runID)
        o.add("host", self.host)
        o.add("port", self.port)
        if !self.subscriberPorts.isEmpty { o.add("sub_ports", self.subscriberPorts) }
        o.add("n", self.connections)
        o.add("msgs", self.messages)
        o.add("rate", self.rate)
        o.add("size", self.size)
        o.add("threads", self.threads)
        o.add("src_ips", self.sourceIPs)
        o.add("concurrency", self.concurrency)
        o.add("window", self.window)
        o.add("connected", self.connected)
        o.add("failed_connections", self.failedConnections)
        o.addRaw("failure_reasons", JSONObject.map(self.failureReasons))
        o.add("connect_s", self.connectSeconds)
        o.add("connect_per_s", self.connectsPerSecond)
        o.add("handshake_p50_ms", self.handshake.map { Double($0.valueAtPercentile(50)) / 1000 })
        o.add("handshake_p99_ms", self.handshake.map { Double($0.valueAtPercentile(99)) / 1000 })
        o.add("handshake_max_ms", self.handshake.map { Double($0.max) / 1000 })
        o.add("hub_rss_before_kib", self.hubRSSBeforeKiB.map { Double($0) })
        o.add("hub_rss_after_kib", self.hubRSSAfterKiB.map { Double($0) })
        o.add("hub_rss_kib_per_conn", self.perConnection(self.hubRSSBeforeKiB, self.hubRSSAfterKiB))
        o.add("hub_pss_kib_per_conn", self.perConnection(self.hubPSSBeforeKiB, self.hubPSSAfterKiB))
        if self.measuresDelivery {
            o.add("warmup_missing", self.warmupMissing)
            o.add("published", self.publish?.accepted ?? 0)
            o.add("publish_rejected", self.publish?.rejected ?? 0)
            o.add("publish_errors", self.publish?.errors ?? 0)
            o.addRaw("publish_status", JSONObject.map(self.publish?.statusCounts ?? [:]))
            o.add("publishes_per_s", self.publishesPerSecond)
            o.add("publish_rtt_p50_ms", self.publish.map { Double($0.roundTrip.valueAtPercentile(50)) / 1000 })
            o.add("publish_rtt_p99_ms", self.publish.map { Double($0.roundTrip.valueAtPercentile(99)) / 1000 })
            o.add("expected", self.expected)
            o.add("received", self.received)
            o.add("lost", self.lost)
            o.add("conns_with_loss", self.connectionsWithLoss)
            o.add("duplicates", self.duplicates)
            o.add("out_of_order", self.outOfOrder)
            o.add("unexpected", self.unexpected)
            o.add("delivered_per_s", self.deliveredPerSecond)
            o.add("latency_p50_us", self.latency.map { Double($0.valueAtPercentile(50)) })
            o.add("latency_p99_us", self.latency.map { Double($0.valueAtPercentile(99)) })
            o.add("latency_p999_us", self.latency.map { Double($0.valueAtPercentile(99.9)) })
            o.add("latency_max_us", self.latency.map { Double($0.max) })
            o.add("latency_mean_us", self.latency.map { $0.totalCount > 0 ? $0.mean : 0 })
            o.add("drain_end", self.drainEnd)
            o.add("duration_s", self.durationSeconds)
            o.add("hub_cpu_pct", self.hubCPUPercent)
            o.add("bench_cpu_pct", self.benchCPUPercent)
            o.add("hub_cpu_us_per_delivery", self.hubMicrosPerDelivery)
            o.add("bench_cpu_us_per_delivery", self.benchMicrosPerDelivery)
        }
        o.add("closed_by_server", self.closedByServer)
        o.addRaw("close_codes", JSONObject.map(self.closeCodes))
        o.add("frames_event", self.frames.events)
        o.add("frames_other", self.frames.nonEvent)
        o.add("frames_ping", self.frames.pings)
        o.add("ok", self.ok)
        return o.text
    }

    // MARK: table

    func table() -> String {
        var rows: [(String, String)] = []
        func row(_ k: String, _ v: String) { rows.append((k, v)) }
        row("scenario", "\(self.scenario)  (run \(self.runID), \(self.host):\(self.port)\(self.subscriberPorts.isEmpty ? "" : ", subscribers on " + self.subscriberPorts), \(self.threads) thread(s), \(self.sourceIPs) source IPs)")
        var shape = "n=\(Self.int(self.connections))"
        if self.measuresDelivery {
            shape += "  msgs=\(Self.int(self.messages))  rate=\(self.rate > 0 ? Self.num(self.rate, 1) + "/s" : "unthrottled")  size=+\(self.size) B  window=\(self.window)"
        }
        row("shape", shape)
        row("connections", "\(Self.int(self.connected)) subscribed, \(Self.int(self.failedConnections)) failed")
        for (reason, count) in self.failureReasons.sorted(by: { $0.value > $1.value }).prefix(5) {
            row("  failure", "\(Self.int(count)) × \(reason)")
        }
        row("connect rate", "\(Self.int(Int(self.connectsPerSecond.rounded())))/s  (\(Self.num(self.connectSeconds, 2)) s, TCP connect → subscribed)")
        if let h = self.handshake, h.totalCount > 0 {
            row("handshake", "p50 \(Self.ms(h.valueAtPercentile(50)))  p99 \(Self.ms(h.valueAtPercentile(99)))  max \(Self.ms(h.max))")
        }
        if let before = self.hubRSSBeforeKiB, let after = self.hubRSSAfterKiB {
            var text = "RSS \(Self.int(Int(before))) → \(Self.int(Int(after))) KiB"
            if let per = self.perConnection(before, after) { text += " = \(Self.num(per, 2)) KiB/conn" }
            if let pss = self.perConnection(self.hubPSSBeforeKiB, self.hubPSSAfterKiB) { text += "  (PSS \(Self.num(pss, 2)) KiB/conn)" }
            row("hub memory", text)
        }
        if self.measuresDelivery {
            let p = self.publish ?? PublishResult()
            row("published", "\(Self.int(p.accepted)) accepted, \(p.rejected) rejected, \(p.errors) errors  at \(Self.num(self.publishesPerSecond, 1))/s  (rtt p50 \(Self.ms(p.roundTrip.valueAtPercentile(50))), p99 \(Self.ms(p.roundTrip.valueAtPercentile(99))))")
            if p.rejected > 0 {
                row("  status", p.statusCounts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))
            }
            if self.warmupMissing > 0 { row("warm-up", "\(self.warmupMissing) connections never got the warm-up event") }
            row("delivered", "\(Self.int(self.received)) of \(Self.int(self.expected))  at \(Self.int(Int(self.deliveredPerSecond.rounded())))/s over \(Self.num(self.durationSeconds, 3)) s  (\(self.drainEnd))")
            row("lost", "\(Self.int(self.lost)) (on \(Self.int(self.connectionsWithLoss)) connections)  duplicates \(self.duplicates)  out-of-order \(self.outOfOrder)  unexpected \(self.unexpected)")
            if let h = self.latency, h.totalCount > 0 {
                row("latency", "p50 \(Self.ms(h.valueAtPercentile(50)))  p99 \(Self.ms(h.valueAtPercentile(99)))  p99.9 \(Self.ms(h.valueAtPercentile(99.9)))  max \(Self.ms(h.max))")
            }
            var cpu: [String] = []
            if let hub = self.hubCPUPercent { cpu.append("hub \(Self.num(hub, 0))%") }
            if let bench = self.benchCPUPercent { cpu.append("bench \(Self.num(bench, 0))%") }
            var perDelivery: [String] = []
            if let us = self.hubMicrosPerDelivery { perDelivery.append("hub \(Self.num(us, 1))") }
            if let us = self.benchMicrosPerDelivery { perDelivery.append("bench \(Self.num(us, 1))") }
            if !perDelivery.isEmpty { cpu.append("(µs per delivery: " + perDelivery.joined(separator: ", ") + ")") }
            if !cpu.isEmpty { row("cpu (1 core = 100%)", cpu.joined(separator: "  ")) }
        }
        let codes = self.closeCodes.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        row("closed by server", "\(self.closedByServer)" + (codes.isEmpty ? "" : "  codes: \(codes)"))
        let f = self.frames
        row("frames", "\(Self.int(f.events)) events, \(Self.int(f.nonEvent)) other (welcome \(f.welcome), subscribed \(f.subscribed), error \(f.errors), ping \(f.pings), pong \(f.pongs), foreign events \(f.foreignEvents), other \(f.other))")
        row("result", self.ok ? "OK" : "FAILED (lost messages, failed or closed connections, or publish errors)")
        let width = rows.map { $0.0.count }.max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n") + "\n"
    }

    static func ms(_ micros: UInt64) -> String {
        micros < 10_000 ? "\(num(Double(micros) / 1000, 2)) ms" : "\(num(Double(micros) / 1000, 1)) ms"
    }

    static func num(_ value: Double, _ decimals: Int) -> String {
        value.isFinite ? String(format: "%.\(decimals)f", value) : "-"
    }

    static func int(_ value: Int) -> String {
        var digits = String(abs(value))
        var out = ""
        while digits.count > 3 {
            out = "," + digits.suffix(3) + out
            digits.removeLast(3)
        }
        return (value < 0 ? "-" : "") + digits + out
    }
}
