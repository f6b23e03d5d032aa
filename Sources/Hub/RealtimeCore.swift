import CoreMetrics
import NIOCore
import Protocol

/// The real-time core of one node: the subscription index, the Distributor,
/// the event bus, the access rules and the open sessions, and the
/// subscribe / unsubscribe / detach logic that WebSocket and SSE share.
public final class RealtimeCore: Sendable {
    public let index: SubscriptionIndex
    public let distributor: Distributor
    public let bus: any EventBus
    public let access: AccessControl
    public let limits: HubLimits
    public let registry: ConnectionRegistry
    public let metrics: HubMetrics

    public init(
        bus: any EventBus, distributor: Distributor, access: AccessControl, limits: HubLimits, metrics: HubMetrics
    ) {
        self.index = distributor.index
        self.distributor = distributor
        self.bus = bus
        self.access = access
        self.limits = limits
        self.metrics = metrics
        self.registry = ConnectionRegistry(limits: limits, metrics: metrics)
    }

    /// An embedded core: in-process bus with in-memory history.
    public static func embedded(
        access: AccessControl = AccessControl(), limits: HubLimits = HubLimits(), metrics: HubMetrics = .discarding
    ) -> RealtimeCore {
        let distributor = Distributor(index: SubscriptionIndex(), metrics: metrics)
        let bus = LocalEventBus(distributor: distributor, historyLength: limits.historyLength, metrics: metrics)
        return RealtimeCore(bus: bus, distributor: distributor, access: access, limits: limits, metrics: metrics)
    }

    /// Resolves what a client named into the internal key, or the reason it is denied.
    public func resolve(_ text: String, for identity: Identity) async -> Result<TopicKey, ServerMessage.DeniedTopic> {
        let topic: Topic
        do {
            topic = try ClientTopic.resolve(Topic(text), subject: identity.subject)
        } catch {
            return .failure(.init(topic: text, code: .invalidTopic, message: error.message))
        }
        let decision: AccessControl.Decision
        do {
            decision = try await access.canRead(identity, topic: topic) { ref in
                try await bus.entity(ref, tenant: identity.tenant)
            }
        } catch {
            return .failure(.init(topic: text, code: .serviceUnavailable, message: "cannot check access right now"))
        }
        if case .deny(let reason) = decision {
            return .failure(.init(topic: text, code: .forbidden, message: reason))
        }
        return .success(TopicKey(tenant: identity.tenant, topic: topic))
    }

    /// Handles a `subscribe` message: answers `subscribed` (with per-topic
    /// `denied` entries), then the catch-up frames (snapshot, recovered events),
    /// then live events, with no gap and no duplicate.
    public func subscribe(_ session: Session, _ request: ClientMessage.Subscribe) async {
        let identity = session.identity
        var denied: [ServerMessage.DeniedTopic] = []
        var keys: [TopicKey] = []
        var names: [TopicKey: String] = [:]
        for text in request.topics where !keys.contains(where: { names[$0] == text }) {
            switch await resolve(text, for: identity) {
            case .success(let key):
                if names[key] == nil {
                    keys.append(key)
                    names[key] = text
                }
            case .failure(let entry):
                denied.append(entry)
            }
        }
        let recover = Set(keys.filter { key in names[key].map { request.since[$0] != nil } ?? false })
        let reservation = session.beginSubscribe(keys, limit: limits.maxSubscriptionsPerConnection, recover: recover)
        for key in reservation.overLimit {
            denied.append(
                .init(
                    topic: names[key] ?? key.topic.rawValue, code: .tooManySubscriptions,
                    message: "at most \(limits.maxSubscriptionsPerConnection) subscriptions per connection"))
        }
        for key in reservation.accepted { index.add(key, session) }
        // The bus must deliver the new keys to this node before their history is
        // read, or an event published in between would be in neither.
        var unavailable: Set<TopicKey> = []
        if !reservation.accepted.isEmpty {
            do {
                try await bus.attach(reservation.accepted)
            } catch {
                drop(reservation.accepted, from: session, counted: false)
                unavailable = Set(reservation.accepted)
                for key in reservation.accepted {
                    denied.append(
                        .init(topic: names[key] ?? key.topic.rawValue, code: .serviceUnavailable, message: "cannot subscribe right now"))
                }
            }
        }
        let added = reservation.accepted.count - unavailable.count
        if added > 0 { metrics.subscriptions.increment(by: Double(added)) }

        var entries: [ServerMessage.SubscribedTopic] = []
        var catchups: [Session.Catchup] = []
        for key in keys where !reservation.overLimit.contains(key) && !unavailable.contains(key) {
            let name = names[key] ?? key.topic.rawValue
            let isNew = reservation.accepted.contains(key)
            let recovering = reservation.recovering.contains(key)
            guard let plan = await catchup(for: key, since: request.since[name], snapshot: request.snapshot && isNew) else {
                // The history (or last value) cannot be read right now: not a
                // resync (the events may well be there), but a refusal the
                // client retries with the same `since`. The topic is left
                // unsubscribed, a subscription it already had included.
                drop([key], from: session, counted: true)
                denied.append(
                    .init(topic: name, code: .serviceUnavailable, message: "cannot read the topic's history right now; retry with the same since"))
                continue
            }
            entries.append(.init(topic: name, offset: plan.latest?.description, recovered: plan.recovered, resync: plan.resync))
            if isNew || recovering { catchups.append(Session.Catchup(key: key, frames: plan.frames, baseline: plan.baseline)) }
        }
        let reply = ServerMessage.subscribed(.init(id: request.id, topics: entries, denied: denied))
        session.completeSubscribe(reply: ByteBuffer(bytes: reply.encoded()), catchups: catchups)
    }

    struct CatchupPlan {
        var frames: [ByteBuffer] = []
        var baseline: Offset?
        var latest: Offset?
        var recovered: Bool?
        var resync: Bool?
    }

    /// What a new (or recovering) subscription gets before its live events;
    /// nil when a `since` or a `snapshot` cannot be answered because the bus
    /// is temporarily unavailable.
    private func catchup(for key: TopicKey, since: String?, snapshot: Bool) async -> CatchupPlan? {
        var plan = CatchupPlan()
        if let since {
            plan.recovered = false
            plan.resync = true
            if let offset = Offset(since), !key.topic.isPattern {
                let page: HistoryPage
                do {
                    page = try await bus.history(key, after: offset, limit: limits.historyLength)
                } catch let error as HubError where error.temporary {
                    return nil
                } catch {
                    return plan
                }
                if page.complete, !page.truncated {
                    plan.frames = page.events.map { ByteBuffer(bytes: EventFrame.event($0)) }
                    plan.baseline = page.events.last?.offset ?? offset
                    plan.latest = page.latest
                    plan.recovered = true
                    plan.resync = nil
                    return plan
                }
            }
        }
        guard !key.topic.isPattern else { return plan }
        let last: Event?
        do {
            last = try await bus.lastEvent(key)
        } catch let error as HubError where error.temporary && snapshot {
            return nil
        } catch {
            last = nil
        }
        if let last {
            plan.latest = last.offset
            if snapshot {
                plan.frames = [ByteBuffer(bytes: EventFrame.snapshot(last))]
                plan.baseline = last.offset
            }
        }
        return plan
    }

    /// Handles an `unsubscribe` message.
    public func unsubscribe(_ session: Session, _ request: ClientMessage.Unsubscribe) -> ServerMessage {
        let identity = session.identity
        var keys: [TopicKey] = []
        for text in request.topics {
            if let topic = try? ClientTopic.resolve(Topic(text), subject: identity.subject) {
                keys.append(TopicKey(tenant: identity.tenant, topic: topic))
            }
        }
        drop(keys, from: session, counted: true)
        return .unsubscribed(.init(id: request.id, topics: request.topics))
    }

    /// Removes a closed session from the index, the bus and the registry.
    public func detach(_ session: Session) {
        drop(Array(session.subscriptions), from: session, counted: true)
        registry.unregister(session)
    }

    /// Takes `keys` out of the session, then out of the index and the bus:
    /// each key exactly once, by whoever takes it out of the session first
    /// (a concurrent unsubscribe or close). `counted`: the keys are in the
    /// subscriptions gauge.
    private func drop(_ keys: [TopicKey], from session: Session, counted: Bool) {
        let removed = session.unsubscribe(keys)
        for key in removed { index.remove(key, session) }
        bus.detach(removed)
        if counted, !removed.isEmpty { metrics.subscriptions.decrement(by: Double(removed.count)) }
    }
}
