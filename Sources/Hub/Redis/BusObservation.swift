import Protocol

/// What an observer of a Redis event bus sees (``RedisEventBus/observe(_:_:)``).
public enum BusObservation: Sendable, Equatable {
    /// An event received by this node (published by any node), once.
    case event(Event)
    /// The subscriber connection was lost: events may be missed until `resumed`.
    case interrupted
    /// The subscriber is back. The events recovered for the exact topics of
    /// local sessions were passed on (as `.event`, before this); events of
    /// other topics published meanwhile were not: re-read whatever state the
    /// observer keeps (e.g. wake every long-poll).
    case resumed
}

/// A registration made by ``RedisEventBus/observe(_:_:)``; pass it to
/// ``RedisEventBus/stopObserving(_:)``.
public struct BusObserverToken: Sendable, Hashable {
    let id: UInt64
    let topic: Topic
}
