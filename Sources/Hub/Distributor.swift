import CoreMetrics
import NIOCore
import Protocol

/// Hands each event to every session subscribed to its topic. The event is
/// encoded once; every subscriber gets the same bytes (a `ByteBuffer` shares
/// its storage), so delivering to 10,000 sessions costs 10,000 enqueues and
/// one encoding.
///
/// The event bus calls `deliver` for the events of one topic in offset order
/// and never concurrently for the same topic.
public final class Distributor: Sendable {
    public let index: SubscriptionIndex
    let metrics: HubMetrics

    public init(index: SubscriptionIndex, metrics: HubMetrics) {
        self.index = index
        self.metrics = metrics
    }

    public func deliver(_ event: Event) {
        let key = TopicKey(tenant: event.tenant, topic: event.topic)
        let matches = index.matches(for: key)
        guard !matches.isEmpty else { return }
        let start = ContinuousClock.now
        let frame = ByteBuffer(bytes: EventFrame.event(event))
        var delivered = 0
        var dropped = 0
        var overflowed = 0
        func hand(_ session: Session, _ matched: TopicKey) {
            switch session.deliver(frame, key: matched, offset: event.offset) {
            case .queued: delivered += 1
            case .discarded: dropped += 1
            case .overflowed:
                dropped += 1
                overflowed += 1
            }
        }
        if matches.count == 1 {
            for session in matches[0].sessions { hand(session, matches[0].key) }
        } else {
            var seen = Set<UInt64>()
            for match in matches {
                for session in match.sessions where seen.insert(session.id).inserted { hand(session, match.key) }
            }
        }
        metrics.framesDelivered.increment(by: Int64(delivered))
        if dropped > 0 { metrics.framesDropped.increment(by: Int64(dropped)) }
        if overflowed > 0 { metrics.slowConsumerCloses.increment(by: Int64(overflowed)) }
        metrics.fanoutDuration.recordInterval(since: start)
    }
}

extension CoreMetrics.Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
