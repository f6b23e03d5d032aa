import NIOCore
import Protocol
import Synchronization

extension Session {
    /// How `beginSubscribe` sorted the requested keys.
    public struct Reservation: Sendable {
        /// New subscriptions, now buffering live events until `completeSubscribe`.
        public var accepted: [TopicKey] = []
        /// Keys the session already had.
        public var existing: [TopicKey] = []
        /// Keys the session already had that are recovered again (`since` given):
        /// their live events are buffered until `completeSubscribe`, like new ones.
        public var recovering: [TopicKey] = []
        /// Keys over the per-connection limit.
        public var overLimit: [TopicKey] = []
    }

    /// What to send for one new subscription when it completes.
    public struct Catchup: Sendable {
        public var key: TopicKey
        /// Snapshot and recovered event frames, in order.
        public var frames: [ByteBuffer]
        /// Live events at or before this offset were already covered by `frames`.
        public var baseline: Offset?

        public init(key: TopicKey, frames: [ByteBuffer], baseline: Offset?) {
            self.key = key
            self.frames = frames
            self.baseline = baseline
        }
    }

    /// Records new subscriptions (up to `limit` in all) and starts buffering
    /// their live events, so that the catch-up frames can be sent first. Keys
    /// already subscribed that are in `recover` are buffered again too: the
    /// client asked for their events after an offset, and gets them before
    /// further live ones.
    public func beginSubscribe(_ keys: [TopicKey], limit: Int, recover: Set<TopicKey> = []) -> Reservation {
        state.withLock { state in
            var reservation = Reservation()
            for key in keys {
                if state.subscriptions.contains(key) {
                    if !reservation.existing.contains(key) { reservation.existing.append(key) }
                    if recover.contains(key), state.pending[key] == nil, !reservation.recovering.contains(key) {
                        state.pending[key] = []
                        reservation.recovering.append(key)
                    }
                } else if state.subscriptions.count >= limit {
                    reservation.overLimit.append(key)
                } else {
                    state.subscriptions.insert(key)
                    state.pending[key] = []
                    reservation.accepted.append(key)
                }
            }
            return reservation
        }
    }

    /// Sends `reply`, then for each new subscription its catch-up frames and
    /// the live events buffered since `beginSubscribe` that come after the
    /// catch-up (no gap, no duplicate), and switches them to live delivery.
    ///
    /// With an executor this runs there: after every delivery submitted before,
    /// which includes the live events that the catch-up already covers.
    public func completeSubscribe(reply: ByteBuffer, catchups: [Catchup]) {
        if let executor {
            executor.submit { self.completeSubscribeNow(reply: reply, catchups: catchups) }
        } else {
            completeSubscribeNow(reply: reply, catchups: catchups)
        }
    }

    func completeSubscribeNow(reply: ByteBuffer, catchups: [Catchup]) {
        let resume = state.withLock { state -> Resume? in
            guard state.closing == nil else { return nil }
            var out: [ByteBuffer] = [reply]
            for catchup in catchups {
                out.append(contentsOf: catchup.frames)
                let buffered = state.pending.removeValue(forKey: catchup.key) ?? []
                state.pendingFrames -= buffered.count
                var newest = catchup.baseline
                for item in buffered {
                    if let baseline = catchup.baseline, item.offset.isAfter(baseline) == false { continue }
                    out.append(item.frame)
                    newest = item.offset
                }
                // Until a newer live event arrives, later copies of what was sent are dropped.
                if let newest, !catchup.key.topic.isPattern { state.baselines[catchup.key] = newest }
            }
            // Catch-up frames may exceed the live queue limit: they are bounded by the
            // history length, and do not count against the live frames that follow.
            if let waiter = state.waiter, state.queue.isEmpty {
                state.waiter = nil
                return Resume.writer(waiter, .frames(out))
            }
            state.queue.append(contentsOf: out)
            state.catchupAllowance += out.count
            return Self.needsWake(&state).map(Resume.wake)
        }
        resume?.run()
    }

    /// Removes subscriptions; returns the keys that were subscribed.
    public func unsubscribe(_ keys: [TopicKey]) -> [TopicKey] {
        state.withLock { state in
            var removed: [TopicKey] = []
            for key in keys where state.subscriptions.remove(key) != nil {
                if let buffered = state.pending.removeValue(forKey: key) { state.pendingFrames -= buffered.count }
                state.baselines[key] = nil
                removed.append(key)
            }
            return removed
        }
    }

    public var subscriptions: Set<TopicKey> {
        state.withLock { $0.subscriptions }
    }

    public var subscriptionCount: Int {
        state.withLock { $0.subscriptions.count }
    }
}
