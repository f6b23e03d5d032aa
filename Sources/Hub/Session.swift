import NIOCore
import Protocol
import Synchronization

/// One client connection as the core sees it: identity, subscriptions and a
/// bounded send queue. Any task may deliver to it; one writer task drains it
/// with `next()`. The I/O shell (WebSocket or SSE) lives in the Gateway.
///
/// The queue holds at most `HubLimits.sendQueueLength` live frames. Delivering
/// to a full queue drops the queue and asks the writer to close with 4008
/// (slow consumer): the client reconnects and resumes from its offsets, which
/// is better than silently dropping events in the middle of a stream.
public final class Session: Sendable {
    public let id: UInt64
    public let connectionID: String
    let queueLimit: Int
    let state: Mutex<State>
    /// Where this session's queue is changed; `nil`: in the caller's thread.
    public let executor: (any SessionExecutor)?

    public init(
        id: UInt64, connectionID: String, identity: Identity, queueLimit: Int, executor: (any SessionExecutor)? = nil
    ) {
        self.id = id
        self.connectionID = connectionID
        self.queueLimit = queueLimit
        self.executor = executor
        self.state = Mutex(State(identity: identity))
    }

    /// What the writer gets from `next()`.
    public enum Output: Sendable {
        /// Frames to write, in order.
        case frames([ByteBuffer])
        /// Write `finalFrame` (if any), then close with `code`.
        case close(CloseRequest)
    }

    public struct CloseRequest: Sendable, Equatable {
        public var code: CloseCode
        public var reason: String
        public var finalFrame: ByteBuffer?

        public init(code: CloseCode, reason: String, finalFrame: ByteBuffer? = nil) {
            self.code = code
            self.reason = reason
            self.finalFrame = finalFrame
        }
    }

    /// The result of handing a frame to the session.
    public enum DeliveryResult: Sendable, Equatable {
        case queued
        /// The queue was full: the session is now closing as a slow consumer.
        case overflowed
        /// The session is closing; the frame was discarded.
        case discarded
        /// The catch-up of the subscription already sent this event; not sent again.
        case duplicate
    }

    struct PendingFrame {
        var offset: Offset
        var frame: ByteBuffer
    }

    struct State {
        // The fields a live delivery reads come first, so that it touches one
        // or two cache lines of a session that is cold (10,000 sessions per event).
        var closing: CloseRequest?
        var queue = CircularBuffer<ByteBuffer>(initialCapacity: 4)
        /// Push mode: called (once until the next `take()`) when output becomes available.
        var wake: (@Sendable () -> Void)?
        var wakePending = false
        /// Push mode: writes a frame to the transport at once when nothing is
        /// queued (on the session's executor); `false`: not now, queue it.
        var direct: (@Sendable (ByteBuffer) -> Bool)?
        var waiter: CheckedContinuation<Output?, Never>?
        /// Catch-up frames now in `queue`: they raise the queue's limit until it is drained.
        var catchupAllowance = 0
        /// Subscriptions completed with a catch-up, until their first newer live
        /// event: a live event at or before the baseline is a late copy of one
        /// the catch-up already sent (its delivery raced the history read, as
        /// with Redis, where history and live events come by different
        /// connections) and is dropped. Empty almost always, so the check is free.
        var baselines: [TopicKey: Offset] = [:]
        /// Live events that arrived for topics still being subscribed (recovery in progress).
        var pending: [TopicKey: [PendingFrame]] = [:]
        var pendingFrames = 0
        var closeTaken = false
        var identity: Identity
        var subscriptions: Set<TopicKey> = []
        var tokens: Double = 0
        var lastRefill: ContinuousClock.Instant?
        var invalidFrames = 0

        init(identity: Identity) {
            self.identity = identity
        }
    }

    public var identity: Identity {
        state.withLock { $0.identity }
    }

    public func replaceIdentity(_ identity: Identity) {
        state.withLock { $0.identity = identity }
    }

    public var isClosing: Bool {
        state.withLock { $0.closing != nil }
    }

    // MARK: Delivery

    /// Delivers a live event frame for `key` (the subscription it matched).
    /// With an executor, call it on the executor (the Distributor does).
    @discardableResult
    public func deliver(_ frame: ByteBuffer, key: TopicKey, offset: Offset) -> DeliveryResult {
        let (result, resume) = state.withLock { state -> (DeliveryResult, Resume?) in
            guard state.closing == nil else { return (.discarded, nil) }
            if !state.baselines.isEmpty, let baseline = state.baselines[key] {
                if offset.isAfter(baseline) == false { return (.duplicate, nil) }
                state.baselines[key] = nil
            }
            if !state.pending.isEmpty, state.pending[key] != nil {
                guard state.pendingFrames < queueLimit else { return (.overflowed, Self.overflow(&state)) }
                state.pending[key, default: []].append(PendingFrame(offset: offset, frame: frame))
                state.pendingFrames += 1
                return (.queued, nil)
            }
            return Self.enqueue(frame, into: &state, limit: queueLimit, directly: true)
        }
        // A refused direct write: queue the frame for the transport's next drain.
        if let resume, !resume.run() { return sendNow(frame) }
        return result
    }

    /// Queues a control frame (a reply, an error) behind what is already queued.
    /// With an executor the frame is queued there, in order with everything
    /// submitted before, and the result is `.queued`.
    @discardableResult
    public func send(_ frame: ByteBuffer) -> DeliveryResult {
        if let executor {
            executor.submit { self.sendNow(frame) }
            return .queued
        }
        return sendNow(frame)
    }

    @discardableResult
    func sendNow(_ frame: ByteBuffer) -> DeliveryResult {
        let (result, resume) = state.withLock { state -> (DeliveryResult, Resume?) in
            guard state.closing == nil else { return (.discarded, nil) }
            return Self.enqueue(frame, into: &state, limit: queueLimit)
        }
        resume?.run()
        return result
    }

    public func send(_ message: ServerMessage) {
        send(ByteBuffer(bytes: message.encoded()))
    }

    /// What to run once the lock is released: resume a waiting writer (pull
    /// mode), call the wake hook or write a frame directly (push mode).
    enum Resume {
        case writer(CheckedContinuation<Output?, Never>, Output)
        case wake(@Sendable () -> Void)
        case direct(@Sendable (ByteBuffer) -> Bool, ByteBuffer)

        /// `false` only when the transport refused a direct write: the frame must be queued.
        @discardableResult
        func run() -> Bool {
            switch self {
            case .writer(let waiter, let output): waiter.resume(returning: output)
            case .wake(let wake): wake()
            case .direct(let write, let frame): return write(frame)
            }
            return true
        }
    }

    /// Asks the writer to close the connection: frames already queued go out,
    /// then `finalFrame`, then the close. The first request wins. With an
    /// executor the request is applied there, after what was submitted before.
    public func requestClose(_ request: CloseRequest) {
        if let executor {
            executor.submit { self.requestCloseNow(request) }
        } else {
            requestCloseNow(request)
        }
    }

    func requestCloseNow(_ request: CloseRequest) {
        let resume = state.withLock { state -> Resume? in
            guard state.closing == nil else { return nil }
            // Frames already queued (replies, errors) still go out before the close.
            state.closing = request
            state.pending.removeAll()
            state.pendingFrames = 0
            guard let waiter = state.waiter else { return Self.needsWake(&state).map(Resume.wake) }
            state.waiter = nil
            state.closeTaken = true
            return Resume.writer(waiter, .close(request))
        }
        resume?.run()
    }

    /// The next frames to write, or the close to perform; `nil` once the close
    /// has been handed out or the calling task is cancelled.
    public func next() async -> Output? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Output?, Never>) in
                let immediate: Output?? = state.withLock { state in
                    if state.closing != nil, !state.queue.isEmpty {
                        let frames = Array(state.queue)
                        state.queue.removeAll()
                        return .some(.frames(frames))
                    }
                    if let closing = state.closing {
                        if state.closeTaken { return .some(nil) }
                        state.closeTaken = true
                        return .some(.close(closing))
                    }
                    if !state.queue.isEmpty {
                        let frames = Array(state.queue)
                        state.queue.removeAll(keepingCapacity: state.queue.count <= 64)
                        state.catchupAllowance = 0
                        return .some(.frames(frames))
                    }
                    if Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    /// `directly`: a push-mode session with nothing queued and no wake-up
    /// pending hands `frame` to the transport's direct write instead of
    /// queueing it and waking the transport to take it back out (the caller
    /// is on the executor, where everything that changes the queue runs, so
    /// nothing can get in between).
    private static func enqueue(
        _ frame: ByteBuffer, into state: inout State, limit: Int, directly: Bool = false
    ) -> (DeliveryResult, Resume?) {
        if let waiter = state.waiter {
            // A waiting writer means the queue is empty: hand the frame over directly.
            state.waiter = nil
            return (.queued, Resume.writer(waiter, .frames([frame])))
        }
        if directly, !state.wakePending, state.queue.isEmpty, let direct = state.direct {
            return (.queued, Resume.direct(direct, frame))
        }
        guard state.queue.count < limit + state.catchupAllowance else { return (.overflowed, overflow(&state)) }
        state.queue.append(frame)
        return (.queued, needsWake(&state).map(Resume.wake))
    }

    private static func overflow(_ state: inout State) -> Resume? {
        let request = CloseRequest(code: .slowConsumer, reason: "slow consumer: send queue full")
        state.closing = request
        state.queue.removeAll()
        state.pending.removeAll()
        state.pendingFrames = 0
        guard let waiter = state.waiter else { return overflowWake(&state) }
        state.waiter = nil
        state.closeTaken = true
        return Resume.writer(waiter, .close(request))
    }

    // In push mode an overflow wakes the transport even when a wake is pending:
    // the transport may be waiting for a socket that will never drain.
    private static func overflowWake(_ state: inout State) -> Resume? {
        guard let wake = state.wake else { return nil }
        state.wakePending = true
        return Resume.wake(wake)
    }
}
