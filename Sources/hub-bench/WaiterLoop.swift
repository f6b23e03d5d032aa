import Histogram
import NIOCore
import NIOHTTP1

/// The long-poll waiters of one event loop and what happened to them. Only touched on that loop
/// (held in a `NIOLoopBound`). Events, not polling: `sendAll` completes when every request is
/// written, `armWake` when every waiter is answered (or its connection ended), or at a deadline.
final class WaiterLoop {
    let loop: any EventLoop
    var waiters: [LongPollWaiter] = []
    private(set) var wakeArmed = false
    /// Set while the bench closes its connections (closes then are not failures).
    private(set) var closing = false

    private var sentCount = 0
    private var writtenCount = 0
    private var writeFailures = 0
    private var writtenPromise: EventLoopPromise<Void>?
    private var finishedCount = 0
    private var finishedPromise: EventLoopPromise<Void>?
    private var deadline: Scheduled<Void>?

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// Sends every waiter's long-poll (`heads[operation]`); succeeds when all are written.
    /// Waiters that already sent theirs (`--send-on-connect` calls this once per batch) are skipped.
    func sendAll(_ heads: [HTTPRequestHead]) -> EventLoopFuture<Void> {
        let promise = self.loop.makePromise(of: Void.self)
        self.writtenPromise = promise
        for waiter in self.waiters where !waiter.sent && waiter.send(heads[waiter.operation], loop: self.loop) {
            self.sentCount += 1
        }
        self.checkWritten()
        return promise.futureResult
    }

    func requestWritten(ok: Bool) {
        if ok { self.writtenCount += 1 } else { self.writeFailures += 1 }
        self.checkWritten()
    }

    private func checkWritten() {
        guard self.writtenCount + self.writeFailures >= self.sentCount, let promise = self.writtenPromise else { return }
        self.writtenPromise = nil
        promise.succeed(())
    }

    /// From now on an answer is a wake-up (before, it is early). Succeeds when every waiter that
    /// sent its request is answered or lost its connection, or after `timeout`.
    func armWake(timeout: TimeAmount) -> EventLoopFuture<Void> {
        self.wakeArmed = true
        let promise = self.loop.makePromise(of: Void.self)
        self.finishedPromise = promise
        self.deadline = self.loop.assumeIsolated().scheduleTask(in: timeout) { self.finishWake() }
        self.checkFinished()
        return promise.futureResult
    }

    func waiterFinished() {
        self.finishedCount += 1
        self.checkFinished()
    }

    private func checkFinished() {
        if self.finishedCount >= self.sentCount { self.finishWake() }
    }

    private func finishWake() {
        self.deadline?.cancel()
        self.deadline = nil
        guard let promise = self.finishedPromise else { return }
        self.finishedPromise = nil
        promise.succeed(())
    }

    /// Waiters answered (or closed) so far.
    var finished: Int { self.finishedCount }

    func summary(patchSentNanos: [UInt64], newVersions: [Int?]) -> WaiterSummary {
        var s = WaiterSummary()
        for waiter in self.waiters {
            guard waiter.sent else {
                s.notSent += 1
                continue
            }
            s.sent += 1
            if waiter.writtenNanos > 0 {
                s.firstWrittenNanos = min(s.firstWrittenNanos, waiter.writtenNanos)
                s.lastWrittenNanos = max(s.lastWrittenNanos, waiter.writtenNanos)
            }
            guard let response = waiter.response else {
                if waiter.closedUnanswered { s.closedUnanswered += 1 } else { s.unanswered += 1 }
                continue
            }
            s.statusCounts[response.status, default: 0] += 1
            if waiter.answeredEarly {
                s.early += 1
                continue
            }
            if response.status == 304 {
                s.notModified += 1
                continue
            }
            guard response.status == 200 else {
                s.otherStatus += 1
                if s.samples[response.status] == nil, let sample = response.bodySample { s.samples[response.status] = String(sample.prefix(200)) }
                continue
            }
            let expected = waiter.operation < newVersions.count ? newVersions[waiter.operation] : nil
            if let expected, response.version == expected { s.ok += 1 } else { s.wrongVersion += 1 }
            let patchSent = waiter.operation < patchSentNanos.count ? patchSentNanos[waiter.operation] : 0
            if patchSent > 0, response.headNanos > patchSent {
                _ = s.wake.record(min((response.headNanos - patchSent) / 1000, 600_000_000))
                s.lastAnswerNanos = max(s.lastAnswerNanos, response.headNanos)
            }
        }
        return s
    }

    func closeAll() -> EventLoopFuture<Void> {
        self.closing = true
        return EventLoopFuture.andAllComplete(self.waiters.compactMap { $0.close() }, on: self.loop)
    }
}

/// What happened to the waiters, on one loop or merged.
struct WaiterSummary: Sendable {
    /// Long-polls written (`notSent`: their connection was not open).
    var sent = 0
    var notSent = 0
    var firstWrittenNanos: UInt64 = .max
    var lastWrittenNanos: UInt64 = 0
    /// 200 with the version the wake-up PATCH produced.
    var ok = 0
    /// 200 with another version.
    var wrongVersion = 0
    /// 304: the wait ended without the change being seen.
    var notModified = 0
    var otherStatus = 0
    /// Answered before the wake-up PATCHes were sent.
    var early = 0
    /// The connection ended without an answer.
    var closedUnanswered = 0
    /// No answer by the end of the wake deadline.
    var unanswered = 0
    var statusCounts: [Int: Int] = [:]
    var samples: [Int: String] = [:]
    /// PATCH written → this waiter's response head, microseconds (every 200 after the wake).
    var wake = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    var lastAnswerNanos: UInt64 = 0

    mutating func merge(_ o: WaiterSummary) {
        self.sent += o.sent
        self.notSent += o.notSent
        self.firstWrittenNanos = min(self.firstWrittenNanos, o.firstWrittenNanos)
        self.lastWrittenNanos = max(self.lastWrittenNanos, o.lastWrittenNanos)
        self.ok += o.ok
        self.wrongVersion += o.wrongVersion
        self.notModified += o.notModified
        self.otherStatus += o.otherStatus
        self.early += o.early
        self.closedUnanswered += o.closedUnanswered
        self.unanswered += o.unanswered
        self.statusCounts.merge(o.statusCounts, uniquingKeysWith: +)
        self.samples.merge(o.samples) { a, _ in a }
        self.wake.add(o.wake)
        self.lastAnswerNanos = max(self.lastAnswerNanos, o.lastAnswerNanos)
    }

    /// Waiters that did not get the new version.
    var missed: Int { self.sent - self.ok }
}
