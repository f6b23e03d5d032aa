import NIOCore
import Testing

@testable import Gateway

@Suite("Heartbeat schedule")
struct HeartbeatScheduleTests {
    /// A seeded generator (SplitMix64), so that the spread below is the same on every run.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func firstPingFallsWithinTheFirstInterval() {
        var generator = Seeded(state: 7)
        let interval = TimeAmount.seconds(25)
        let delays = (0..<1_000).map { _ in WebSocketSessionHandler.firstHeartbeat(after: interval, using: &generator) }
        #expect(delays.allSatisfy { $0 > .zero && $0 <= interval })
        // Spread over the whole interval: every tenth of it holds some of 1,000 connections' first pings.
        let tenths = Set(delays.map { Int($0.nanoseconds * 10 / interval.nanoseconds) }.map { min($0, 9) })
        #expect(tenths == Set(0..<10))
    }

    @Test func shortestIntervalStillGetsAPositiveDelay() {
        var generator = Seeded(state: 1)
        let delay = WebSocketSessionHandler.firstHeartbeat(after: .nanoseconds(0), using: &generator)
        #expect(delay == .nanoseconds(1))
    }
}
