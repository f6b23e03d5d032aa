import Histogram

/// Figures of one kind of request over the measured window: on one event loop, or merged.
struct RequestStats: Sendable {
    /// Answers with the kind's expected status.
    var ok = 0
    /// Answers with another status, and requests lost with their connection (status 0).
    var failed = 0
    /// Every answer by status; 0 = the connection ended before the answer.
    var statusCounts: [Int: Int] = [:]
    /// The start of one body per unexpected status.
    var samples: [Int: String] = [:]
    /// Request written → response end (µs), every answered request.
    var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    /// Length of the measured window(s) on this loop.
    var seconds = 0.0
    /// Correct answers per second: per loop `ok / seconds`; merged, the sum over loops.
    var okPerSecond = 0.0

    mutating func record(_ response: HTTPResponseSummary, expectedStatus: Int) {
        self.statusCounts[response.status, default: 0] += 1
        if response.status == expectedStatus {
            self.ok += 1
        } else {
            self.failed += 1
            if response.status != 0, self.samples[response.status] == nil, let sample = response.bodySample {
                self.samples[response.status] = String(sample.prefix(200))
            }
        }
        if response.status != 0 {
            _ = self.latency.record(min(response.latencyMicros, 600_000_000))
        }
    }

    /// Fixes `okPerSecond` for one loop's figures.
    mutating func finishLoop() {
        self.okPerSecond = self.seconds > 0 ? Double(self.ok) / self.seconds : 0
    }

    /// Adds another loop's figures (rates add up: the loops ran at the same time).
    mutating func merge(_ o: RequestStats) {
        self.ok += o.ok
        self.failed += o.failed
        self.statusCounts.merge(o.statusCounts, uniquingKeysWith: +)
        self.samples.merge(o.samples) { a, _ in a }
        self.latency.add(o.latency)
        self.seconds = max(self.seconds, o.seconds)
        self.okPerSecond += o.okPerSecond
    }

    var answered: Int { self.statusCounts.filter { $0.key != 0 }.values.reduce(0, +) }

    func percentileMillis(_ p: Double) -> Double? {
        self.latency.totalCount > 0 ? Double(self.latency.valueAtPercentile(p)) / 1000 : nil
    }

    var maxMillis: Double? { self.latency.totalCount > 0 ? Double(self.latency.max) / 1000 : nil }
}
