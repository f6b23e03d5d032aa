import CoreMetrics
import Synchronization

/// HTTP request counts and latencies by method, route and status, created from
/// an injected metrics factory.
final class HTTPMetrics: Sendable {
    let factory: any MetricsFactory
    private let timers: Mutex<[String: CoreMetrics.Timer]>
    private let counters: Mutex<[String: Counter]>

    init(factory: any MetricsFactory) {
        self.factory = factory
        timers = Mutex([:])
        counters = Mutex([:])
    }

    func record(method: String, route: String, status: Int, since start: ContinuousClock.Instant) {
        let statusText = String(status)
        let key = "\(method) \(route) \(statusText)"
        let counter = counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(
                label: "hub_http_requests_total",
                dimensions: [("method", method), ("route", route), ("status", statusText)], factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
        let timerKey = "\(method) \(route)"
        let timer = timers.withLock { timers in
            if let timer = timers[timerKey] { return timer }
            let timer = CoreMetrics.Timer(
                label: "hub_http_request_duration_seconds", dimensions: [("method", method), ("route", route)],
                preferredDisplayUnit: .seconds, factory: factory)
            timers[timerKey] = timer
            return timer
        }
        let elapsed = ContinuousClock.now - start
        timer.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
