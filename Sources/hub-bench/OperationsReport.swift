import Foundation
import Histogram

/// CPU of the hub and of the bench over one measured window.
struct CPUFigure: Sendable {
    var label: String
    var seconds: Double
    /// Hub CPU (utime + stime) over the window, µs; nil without `--hub-pid`.
    var hubMicros: UInt64?
    var benchMicros: UInt64
    /// Context switches of the hub's threads over the window, a lower bound (threads that ended
    /// during the window are missing); nil without `--hub-pid`.
    var hubContextSwitches: UInt64?
    /// Busy CPU of the whole machine over the window (nil when /proc/stat is unreadable).
    var machineMicros: UInt64?
    /// Requests answered in the window (for µs per request); 0 = not per request.
    var requests: Int = 0

    var hubPercent: Double? { self.hubMicros.map { self.seconds > 0 ? Double($0) / (self.seconds * 1e4) : 0 } }
    var benchPercent: Double { self.seconds > 0 ? Double(self.benchMicros) / (self.seconds * 1e4) : 0 }
    /// CPU other processes used over the window (machine − hub − bench), % of one core.
    var othersPercent: Double? {
        guard let machine = self.machineMicros, let hub = self.hubMicros, self.seconds > 0 else { return nil }
        return max(Double(machine) - Double(hub) - Double(self.benchMicros), 0) / (self.seconds * 1e4)
    }
    var hubMicrosPerRequest: Double? { self.requests > 0 ? self.hubMicros.map { Double($0) / Double(self.requests) } : nil }
    var benchMicrosPerRequest: Double? { self.requests > 0 ? Double(self.benchMicros) / Double(self.requests) : nil }
    var hubSwitchesPerRequest: Double? { self.requests > 0 ? self.hubContextSwitches.map { Double($0) / Double(self.requests) } : nil }
}

/// A target of the issue and whether this run met it.
struct TargetCheck: Sendable {
    var name: String
    var measured: String
    /// nil: not measurable in this run (e.g. no `--hub-pid`).
    var met: Bool?
}

/// The figures of one `operations` scenario run: a table, or one JSON line (`--json`).
struct OperationsReport: Sendable {
    var scenario: String
    var runID: String
    var host: String
    var port: Int
    var threads: Int
    var shape: [(String, String)] = []
    var kinds: [(RequestKind, RequestStats)] = []
    var cpu: [CPUFigure] = []
    var rows: [(String, String)] = []
    /// Scenario-specific figures for `--json`.
    var json = JSONObject()
    var targets: [TargetCheck] = []
    /// Why the run is not OK (errors, lost requests, anomalies). Targets missed are not problems.
    var problems: [String] = []

    var ok: Bool { self.problems.isEmpty }

    /// Adds the problems a kind's figures show.
    mutating func checkKinds() {
        for (kind, s) in self.kinds where s.failed > 0 {
            let statuses = s.statusCounts.filter { $0.key != kind.expectedStatus }.sorted { $0.key < $1.key }
                .map { "\($0.key == 0 ? "lost" : String($0.key))×\($0.value)" }.joined(separator: " ")
            self.problems.append("\(kind.name): \(s.failed) answers not \(kind.expectedStatus) (\(statuses))")
        }
    }

    // MARK: JSON

    func jsonLine() -> String {
        var o = JSONObject()
        o.add("scenario", "operations \(self.scenario)")
        o.add("run_id", self.runID)
        o.add("host", self.host)
        o.add("port", self.port)
        o.add("threads", self.threads)
        var kinds = JSONObject()
        for (kind, s) in self.kinds {
            var k = JSONObject()
            k.add("request", kind.request)
            k.add("ok_per_s", s.okPerSecond)
            k.add("ok", s.ok)
            k.add("failed", s.failed)
            k.addRaw("status", JSONObject.map(s.statusCounts))
            k.add("window_s", s.seconds)
            k.add("p50_ms", s.percentileMillis(50))
            k.add("p99_ms", s.percentileMillis(99))
            k.add("p999_ms", s.percentileMillis(99.9))
            k.add("max_ms", s.maxMillis)
            k.add("mean_ms", s.latency.totalCount > 0 ? s.latency.mean / 1000 : nil)
            if !s.samples.isEmpty { k.addRaw("error_samples", Self.stringMap(s.samples)) }
            kinds.addRaw(kind.name, k.text)
        }
        o.addRaw("kinds", kinds.text)
        var cpu = JSONObject()
        for figure in self.cpu {
            var c = JSONObject()
            c.add("window_s", figure.seconds)
            c.add("hub_pct", figure.hubPercent)
            c.add("bench_pct", figure.benchPercent)
            c.add("hub_us_per_request", figure.hubMicrosPerRequest)
            c.add("bench_us_per_request", figure.benchMicrosPerRequest)
            c.add("others_pct", figure.othersPercent)
            c.add("hub_context_switches", figure.hubContextSwitches.map { Double($0) })
            c.add("hub_context_switches_per_request", figure.hubSwitchesPerRequest)
            cpu.addRaw(figure.label, c.text)
        }
        o.addRaw("cpu", cpu.text)
        o.addRaw("figures", self.json.text)
        var targets = JSONObject()
        for target in self.targets {
            var t = JSONObject()
            t.add("measured", target.measured)
            t.addRaw("met", target.met.map { $0 ? "true" : "false" } ?? "null")
            targets.addRaw(target.name, t.text)
        }
        o.addRaw("targets", targets.text)
        o.addRaw("problems", "[" + self.problems.map(JSONObject.quote).joined(separator: ",") + "]")
        o.add("ok", self.ok)
        return o.text
    }

    private static func stringMap(_ dict: [Int: String]) -> String {
        "{" + dict.sorted { $0.key < $1.key }.map { "\(JSONObject.quote(String($0.key))):\(JSONObject.quote($0.value))" }.joined(separator: ",") + "}"
    }

    // MARK: table

    func table() -> String {
        var out = ""
        var head: [(String, String)] = [("scenario", "operations \(self.scenario)  (run \(self.runID), \(self.host):\(self.port), \(self.threads) bench thread(s))")]
        head += self.shape
        out += Self.keyValues(head)
        if !self.kinds.isEmpty {
            var grid: [[String]] = [["request", "ok/s", "ok", "failed", "p50", "p99", "p99.9", "max", "statuses"]]
            for (kind, s) in self.kinds {
                let statuses = s.statusCounts.sorted { $0.key < $1.key }.map { "\($0.key == 0 ? "lost" : String($0.key))×\(Report.int($0.value))" }
                grid.append([
                    kind.name, Report.int(Int(s.okPerSecond.rounded())), Report.int(s.ok), Report.int(s.failed),
                    Self.ms(s.percentileMillis(50)), Self.ms(s.percentileMillis(99)), Self.ms(s.percentileMillis(99.9)),
                    Self.ms(s.maxMillis), statuses.joined(separator: " "),
                ])
            }
            out += "\n" + Self.grid(grid)
            for (kind, s) in self.kinds {
                for (status, sample) in s.samples.sorted(by: { $0.key < $1.key }) {
                    out += "  \(kind.name) \(status): \(sample)\n"
                }
            }
        }
        var tail: [(String, String)] = []
        for figure in self.cpu {
            var text = "hub " + (figure.hubPercent.map { Report.num($0, 0) + "%" } ?? "-") + ", bench \(Report.num(figure.benchPercent, 0))%"
            if let others = figure.othersPercent { text += ", other processes \(Report.num(others, 0))%" }
            var per: [String] = []
            if let hub = figure.hubMicrosPerRequest { per.append("hub \(Report.num(hub, 1))") }
            if let bench = figure.benchMicrosPerRequest { per.append("bench \(Report.num(bench, 1))") }
            if !per.isEmpty { text += "  (µs per request: " + per.joined(separator: ", ") + ")" }
            if let switches = figure.hubSwitchesPerRequest { text += "  hub context switches/request \(Report.num(switches, 2))" }
            tail.append(("cpu \(figure.label)", text + "  over \(Report.num(figure.seconds, 1)) s"))
        }
        tail += self.rows
        for target in self.targets {
            let verdict = target.met.map { $0 ? "met" : "MISSED" } ?? "not measured"
            tail.append(("target", "\(target.name): \(target.measured) → \(verdict)"))
        }
        tail.append(("result", self.ok ? "OK" : "FAILED: " + self.problems.joined(separator: "; ")))
        out += "\n" + Self.keyValues(tail)
        return out
    }

    static func ms(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value < 10 ? "\(Report.num(value, 2)) ms" : "\(Report.num(value, 1)) ms"
    }

    private static func keyValues(_ rows: [(String, String)]) -> String {
        let width = rows.map { $0.0.count }.max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n") + "\n"
    }

    private static func grid(_ rows: [[String]]) -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                // the first column left-aligned, numbers right-aligned, the last column as is
                if i == 0 || i == columns - 1 { return i == columns - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                return String(repeating: " ", count: widths[i] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
