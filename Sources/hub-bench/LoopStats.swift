import Histogram
import NIOCore

/// Counters of one event loop. Only touched on that loop (held in a `NIOLoopBound`), so the
/// receive path takes no lock; the scenario merges one `LoopSummary` per loop at the end.
final class LoopStats {
    var handlers: [WebSocketClientHandler] = []

    var subscribed = 0
    var failed = 0
    var failureReasons: [String: Int] = [:]
    /// TCP connect start → `subscribed` received, microseconds.
    var handshake = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    var firstConnectNanos: UInt64 = .max
    var lastSubscribedNanos: UInt64 = 0

    /// publish (`sent_ns`) → receipt, microseconds; unique bench messages only.
    var latency = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    var warmupReceived = 0
    var unique = 0
    var duplicates = 0
    var outOfOrder = 0
    /// Bench events for a seq this connection should not get (another topic, out of range).
    var unexpected = 0
    var firstEventNanos: UInt64 = .max
    var lastEventNanos: UInt64 = 0

    var frames = FrameCounts()
    var closedByServer = 0
    var closeCodes: [Int: Int] = [:]

    func recordFailure(_ reason: String) {
        self.failed += 1
        self.failureReasons[reason, default: 0] += 1
    }

    func progress() -> Progress {
        Progress(
            subscribed: self.subscribed,
            failed: self.failed,
            warmupReceived: self.warmupReceived,
            unique: self.unique,
            eventFrames: self.frames.events,
            lastEventNanos: self.lastEventNanos,
            closedByServer: self.closedByServer
        )
    }

    /// Bench messages the subscribed connections of this loop should receive.
    func expectedTotal(_ expectation: Expectation) -> Int {
        self.handlers.reduce(0) { $0 + ($1.isSubscribedOnce ? expectation.count(for: $1.index) : 0) }
    }

    func summary(_ expectation: Expectation) -> LoopSummary {
        var expected = 0
        var lost = 0
        var connectionsWithLoss = 0
        var warmupMissing = 0
        for handler in self.handlers where handler.isSubscribedOnce {
            let count = expectation.count(for: handler.index)
            expected += count
            let missing = count - handler.uniqueReceived
            if missing > 0 {
                lost += missing
                connectionsWithLoss += 1
            }
            if !handler.gotWarmup { warmupMissing += 1 }
        }
        return LoopSummary(
            subscribed: self.subscribed,
            failed: self.failed,
            failureReasons: self.failureReasons,
            handshake: self.handshake,
            firstConnectNanos: self.firstConnectNanos,
            lastSubscribedNanos: self.lastSubscribedNanos,
            latency: self.latency,
            warmupMissing: warmupMissing,
            expected: expected,
            unique: self.unique,
            lost: lost,
            connectionsWithLoss: connectionsWithLoss,
            duplicates: self.duplicates,
            outOfOrder: self.outOfOrder,
            unexpected: self.unexpected,
            firstEventNanos: self.firstEventNanos,
            lastEventNanos: self.lastEventNanos,
            frames: self.frames,
            closedByServer: self.closedByServer,
            closeCodes: self.closeCodes
        )
    }
}

/// Frames received, by kind.
struct FrameCounts: Sendable {
    var events = 0
    var welcome = 0
    var subscribed = 0
    var errors = 0
    var foreignEvents = 0
    var pings = 0
    var pongs = 0
    var other = 0

    var nonEvent: Int { self.welcome + self.subscribed + self.errors + self.foreignEvents + self.pings + self.pongs + self.other }

    mutating func add(_ o: FrameCounts) {
        self.events += o.events
        self.welcome += o.welcome
        self.subscribed += o.subscribed
        self.errors += o.errors
        self.foreignEvents += o.foreignEvents
        self.pings += o.pings
        self.pongs += o.pongs
        self.other += o.other
    }
}

/// Cheap snapshot polled while connecting and draining.
struct Progress: Sendable {
    var subscribed = 0
    var failed = 0
    var warmupReceived = 0
    var unique = 0
    var eventFrames = 0
    var lastEventNanos: UInt64 = 0
    var closedByServer = 0

    mutating func add(_ o: Progress) {
        self.subscribed += o.subscribed
        self.failed += o.failed
        self.warmupReceived += o.warmupReceived
        self.unique += o.unique
        self.eventFrames += o.eventFrames
        self.lastEventNanos = max(self.lastEventNanos, o.lastEventNanos)
        self.closedByServer += o.closedByServer
    }
}

/// Everything one loop measured; summed over loops with `merge`.
struct LoopSummary: Sendable {
    var subscribed: Int
    var failed: Int
    var failureReasons: [String: Int]
    var handshake: Histogram<UInt64>
    var firstConnectNanos: UInt64
    var lastSubscribedNanos: UInt64
    var latency: Histogram<UInt64>
    var warmupMissing: Int
    var expected: Int
    var unique: Int
    var lost: Int
    var connectionsWithLoss: Int
    var duplicates: Int
    var outOfOrder: Int
    var unexpected: Int
    var firstEventNanos: UInt64
    var lastEventNanos: UInt64
    var frames: FrameCounts
    var closedByServer: Int
    var closeCodes: [Int: Int]

    mutating func merge(_ o: LoopSummary) {
        self.subscribed += o.subscribed
        self.failed += o.failed
        self.failureReasons.merge(o.failureReasons, uniquingKeysWith: +)
        self.handshake.add(o.handshake)
        self.firstConnectNanos = min(self.firstConnectNanos, o.firstConnectNanos)
        self.lastSubscribedNanos = max(self.lastSubscribedNanos, o.lastSubscribedNanos)
        self.latency.add(o.latency)
        self.warmupMissing += o.warmupMissing
        self.expected += o.expected
        self.unique += o.unique
        self.lost += o.lost
        self.connectionsWithLoss += o.connectionsWithLoss
        self.duplicates += o.duplicates
        self.outOfOrder += o.outOfOrder
        self.unexpected += o.unexpected
        self.firstEventNanos = min(self.firstEventNanos, o.firstEventNanos)
        self.lastEventNanos = max(self.lastEventNanos, o.lastEventNanos)
        self.frames.add(o.frames)
        self.closedByServer += o.closedByServer
        self.closeCodes.merge(o.closeCodes, uniquingKeysWith: +)
    }
}
