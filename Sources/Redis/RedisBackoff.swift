/// Exponential backoff with jitter between reconnect attempts.
///
/// Attempt `n` (0 for the first retry) waits `min(maximum, base · 2ⁿ)`, of
/// which a random fraction up to `jitter` is taken off, so that many clients
/// that lost Redis at the same moment do not all come back at the same moment.
public struct RedisBackoff: Sendable, Hashable {
    public var base: Duration
    public var maximum: Duration
    /// The share of each delay that is random, 0…1. Default 0.5: a delay of
    /// 800 ms becomes a delay between 400 and 800 ms.
    public var jitter: Double

    public init(base: Duration = .milliseconds(50), maximum: Duration = .seconds(5), jitter: Double = 0.5) {
        self.base = base
        self.maximum = maximum
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay before retry number `attempt` (0-based).
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let cap = max(maximum, .zero)
        var delay = max(base, .zero)
        var step = 0
        while step < attempt, delay < cap {
            delay = delay * 2
            step += 1
        }
        delay = min(delay, cap)
        guard jitter > 0 else { return delay }
        let keep = 1 - jitter * Double.random(in: 0..<1, using: &generator)
        return delay * keep
    }

    /// The delay before retry number `attempt`, with the system generator.
    public func delay(attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &generator)
    }
}
