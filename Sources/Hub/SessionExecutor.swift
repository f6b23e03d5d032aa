/// The thread a session's deliveries run on (for a WebSocket: its event loop).
///
/// A session created with an executor is only ever changed on it: the
/// Distributor hands each executor the subscribers it serves, in one task per
/// event, and `Session.send`, `completeSubscribe` and `requestClose` submit
/// their work to it. So a fan-out to 10,000 sessions on two event loops costs
/// two task submissions, and each session's state, queue and reference count
/// stay in the cache of the one core that writes its socket.
///
/// Contract: `submit` runs work in submission order (FIFO), one at a time.
/// The ordering of a topic's events therefore carries over from the
/// Distributor, and a `completeSubscribe` submitted after a history read runs
/// after every delivery of the events that read returned (their submission
/// happened-before the read).
public protocol SessionExecutor: AnyObject, Sendable {
    func submit(_ work: @escaping @Sendable () -> Void)
}
