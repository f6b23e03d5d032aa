import NIOCore
import Protocol
import Synchronization

/// One topic's history in memory: a bounded ring of its latest events and
/// the counter that gives offsets, in the log's own epoch. Appending and
/// delivering happen under the log's lock, so the Distributor sees a topic's
/// events in offset order.
final class TopicLog: Sendable {
    struct State {
        var lastPosition: UInt64 = 0
        var ring: CircularBuffer<Event>
        var last: Event?
        /// When the last event was appended (or the log created).
        var lastAppend: ContinuousClock.Instant
        /// Taken out of its bus by expiry: an append goes to a new log instead.
        var retired = false
    }

    let state: Mutex<State>
    let capacity: Int
    let epoch: String

    init(capacity: Int, epoch: String, now: ContinuousClock.Instant) {
        self.capacity = capacity
        self.epoch = epoch
        self.state = Mutex(State(ring: CircularBuffer(initialCapacity: min(max(capacity, 1), 16)), lastAppend: now))
    }

    /// Assigns the next offset, stores the event and runs `deliver` with it while
    /// still holding the lock (keeps per-topic delivery in offset order).
    /// `nil` when the log was retired: the caller appends to the topic's new log.
    func append(_ draft: EventDraft, at now: ContinuousClock.Instant, deliver: (Event) -> Void) -> Event? {
        state.withLock { state in
            guard !state.retired else { return nil }
            state.lastAppend = now
            state.lastPosition += 1
            let event = draft.with(offset: Offset(epoch: epoch, major: state.lastPosition))
            if capacity > 0 {
                if state.ring.count >= capacity { state.ring.removeFirst() }
                state.ring.append(event)
            }
            state.last = event
            deliver(event)
            return event
        }
    }

    func read(after offset: Offset?, limit: Int) -> HistoryPage {
        state.withLock { state in
            let latest = state.lastPosition == 0 ? nil : Offset(epoch: epoch, major: state.lastPosition)
            let from: UInt64
            if let offset {
                guard offset.epoch == epoch, offset.minor == 0, offset.major <= state.lastPosition else {
                    return .resync(latest: latest)
                }
                from = offset.major
            } else {
                from = state.ring.first.map { $0.offset.major - 1 } ?? state.lastPosition
            }
            if from == state.lastPosition { return HistoryPage(events: [], complete: true, latest: latest) }
            guard let first = state.ring.first, first.offset.major <= from + 1 else { return .resync(latest: latest) }
            let skip = Int(from + 1 - first.offset.major)
            let available = state.ring.count - skip
            let take = min(available, max(0, limit))
            let events = Array(state.ring.dropFirst(skip).prefix(take))
            return HistoryPage(events: events, complete: true, latest: latest, truncated: take < available)
        }
    }

    var lastEvent: Event? {
        state.withLock { $0.last }
    }

    /// Retires the log when its last event is at or before `cutoff` (any
    /// age without one); true if it did.
    func retire(ifIdleSince cutoff: ContinuousClock.Instant? = nil) -> Bool {
        state.withLock { state in
            if let cutoff, state.lastAppend > cutoff { return false }
            state.retired = true
            return true
        }
    }
}
