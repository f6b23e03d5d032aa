import Testing

@testable import Redis

/// A deterministic generator: returns the values it was given, in a loop.
struct FixedGenerator: RandomNumberGenerator {
    var values: [UInt64]
    var index = 0
    mutating func next() -> UInt64 {
        defer { index = (index + 1) % values.count }
        return values[index]
    }
}

@Suite("RedisBackoff")
struct RedisBackoffTests {
    @Test func doublesUpToTheMaximumWithoutJitter() {
        let backoff = RedisBackoff(base: .milliseconds(100), maximum: .seconds(1), jitter: 0)
        var generator = FixedGenerator(values: [0])
        let delays = (0..<7).map { backoff.delay(attempt: $0, using: &generator) }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1), .seconds(1)])
        // Huge attempt numbers do not overflow.
        #expect(backoff.delay(attempt: 10_000, using: &generator) == .seconds(1))
    }

    @Test func jitterTakesOffAtMostItsShare() {
        let backoff = RedisBackoff(base: .milliseconds(800), maximum: .seconds(10), jitter: 0.5)
        var lowest = FixedGenerator(values: [0])
        #expect(backoff.delay(attempt: 0, using: &lowest) == .milliseconds(800))
        var highest = FixedGenerator(values: [UInt64.max])
        let shortest = backoff.delay(attempt: 0, using: &highest)
        #expect(shortest >= .milliseconds(400) && shortest < .milliseconds(401))
        var system = SystemRandomNumberGenerator()
        for attempt in 0..<20 {
            let delay = backoff.delay(attempt: attempt, using: &system)
            #expect(delay >= .milliseconds(400) && delay <= .seconds(10))
        }
    }

    @Test func jitterIsClamped() {
        #expect(RedisBackoff(jitter: 3).jitter == 1)
        #expect(RedisBackoff(jitter: -1).jitter == 0)
    }
}
