import Synchronization
extension Session {
    /// Whether one more client frame is admitted under the per-connection rate
    /// (a token bucket of `perSecond` tokens refilled at `perSecond` per second).
    public func admitFrame(perSecond: Int, now: ContinuousClock.Instant) -> Bool {
        state.withLock { state in
            let capacity = Double(perSecond)
            if let last = state.lastRefill {
                let elapsed = now - last
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                state.tokens = min(capacity, state.tokens + seconds * capacity)
            } else {
                state.tokens = capacity
            }
            state.lastRefill = now
            guard state.tokens >= 1 else { return false }
            state.tokens -= 1
            return true
        }
    }

    /// Counts one invalid or refused frame; returns the count so far.
    public func recordInvalidFrame() -> Int {
        state.withLock { state in
            state.invalidFrames += 1
            return state.invalidFrames
        }
    }
}
