import CoreMetrics
import NIOCore
import Protocol

/// Hands each event to every session subscribed to its topic. The event is
/// encoded once; every subscriber gets the same bytes (a `ByteBuffer` shares
/// its storage), so delivering to 10,000 sessions costs one encoding and
/// 10,000 enqueues.
///
/// Sessions with an executor (`SessionExecutor`: a WebSocket's event loop)
/// are served by one task per executor and event, which runs the enqueues of
/// that executor's sessions on its own thread; sessions without one are
/// served inline.
///
/// The event bus calls `deliver` for the events of one topic in offset order
/// and never concurrently for the same topic; executors keep that order.
public final class Distributor: Sendable {
    public let index: SubscriptionIndex
    let metrics: HubMetrics

    public init(index: SubscriptionIndex, metrics: HubMetrics) {
        self.index = index
        self.metrics = metrics
    }

    /// One executor's share of a delivery: the sessions of each matched key.
    struct Share: Sendable {
        var executor: (any SessionExecutor)?
        var parts: [(key: TopicKey, sessions: ContiguousArray<Session>)]
    }

    public func deliver(_ event: Event) {
        let key = TopicKey(tenant: event.tenant, topic: event.topic)
        let matches = index.matches(for: key)
        guard !matches.isEmpty else { return }
        let start = ContinuousClock.now
        let frame = ByteBuffer(bytes: EventFrame.event(event))
        let offset = event.offset
        let single = matches.count == 1
        for share in Self.shares(of: matches) {
            // A session subscribed both exactly and by a pattern is in several parts: deliver once.
            let dedupe = !single
            if let executor = share.executor {
                let metrics = self.metrics
                executor.submit {
                    Self.hand(frame, offset: offset, share: share, dedupe: dedupe, metrics: metrics, since: start)
                }
            } else {
                Self.hand(frame, offset: offset, share: share, dedupe: dedupe, metrics: metrics, since: start)
            }
        }
    }

    /// The matches regrouped per executor.
    static func shares(of matches: [SubscriptionIndex.Match]) -> [Share] {
        var shares: [Share] = []
        for match in matches {
            for group in match.groups {
                if let index = shares.firstIndex(where: { $0.executor === group.executor }) {
                    shares[index].parts.append((match.key, group.sessions))
                } else {
                    shares.append(Share(executor: group.executor, parts: [(match.key, group.sessions)]))
                }
            }
        }
        return shares
    }

    /// Enqueues `frame` on every session of `share`, on the share's executor.
    static func hand(
        _ frame: ByteBuffer, offset: Offset, share: Share, dedupe: Bool, metrics: HubMetrics, since start: ContinuousClock.Instant
    ) {
        var delivered = 0
        var dropped = 0
        var overflowed = 0
        var seen = Set<UInt64>()
        for part in share.parts {
            for session in part.sessions {
                if dedupe, !seen.insert(session.id).inserted { continue }
                switch session.deliver(frame, key: part.key, offset: offset) {
                case .queued: delivered += 1
                case .duplicate: break
                case .discarded: dropped += 1
                case .overflowed:
                    dropped += 1
                    overflowed += 1
                }
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
