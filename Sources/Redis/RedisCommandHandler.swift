import NIOCore

/// Matches replies to commands on one connection: a FIFO queue of pending
/// requests, on the channel's event loop. Many requests may be in flight
/// (pipelining); Redis answers in the order it received them, so the next
/// reply always belongs to the oldest pending request.
///
/// Timeouts: each request may carry a deadline. When one passes with its
/// replies still missing, that request fails with ``RedisError/Code/timeout``,
/// every other pending request fails with ``RedisError/Code/connectionClosed``
/// (their commands may or may not have run), and the channel is closed: a
/// late reply would otherwise be taken for the reply of a later command.
///
/// Any error (protocol error, reply too large, I/O error) or the channel
/// closing fails every pending request; later writes fail at once.
final class RedisCommandHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    /// An outbound user event: stop taking requests, and close the channel
    /// once every pending request has its replies.
    struct CloseWhenIdle: Sendable {}

    private enum State {
        case open
        case closingWhenIdle
        case closed(RedisError)
    }

    private var state = State.open {
        didSet {
            if case .closed(let error) = state { closeReason?.record(error) }
        }
    }
    /// Shares why the channel closed with the connection: once closed, writes
    /// no longer reach this handler, but callers should still learn why.
    private let closeReason: RedisCloseReason?
    private var queue = CircularBuffer<RedisRequest>(initialCapacity: 16)
    /// Replies collected so far for the pipeline at the head of the queue.
    private var headReplies: [RESPValue] = []
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?

    init(closeReason: RedisCloseReason? = nil) {
        self.closeReason = closeReason
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        switch state {
        case .closed(let error):
            request.fail(error)
            promise?.fail(error)
            return
        case .closingWhenIdle:
            let error = RedisError.shutDown("the connection is closing")
            request.fail(error)
            promise?.fail(error)
            return
        case .open:
            break
        }
        guard !request.commands.isEmpty else {
            if case .pipeline(let replies) = request.response { replies.succeed([]) }
            promise?.succeed()
            return
        }
        var buffer = context.channel.allocator.buffer(
            capacity: request.commands.reduce(0) { $0 + RESPEncoder.estimatedSize(of: $1) })
        for command in request.commands {
            RESPEncoder.encode(command, into: &buffer)
        }
        queue.append(request)
        if let deadline = request.deadline {
            armTimer(context: context, at: deadline)
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        guard let head = queue.first else {
            if case .closed = state { return }
            fail(context: context, RedisError(.protocolError, "a reply arrived while no command was waiting"))
            return
        }
        switch head.response {
        case .single(let promise):
            queue.removeFirst()
            promise.succeed(value)
        case .pipeline(let promise):
            headReplies.append(value)
            if headReplies.count == head.commands.count {
                queue.removeFirst()
                let replies = headReplies
                headReplies = []
                promise.succeed(replies)
            }
        }
        if case .closingWhenIdle = state, queue.isEmpty {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let redisError = error as? RedisError ?? RedisError.connectionClosed("the connection failed: \(error)")
        fail(context: context, redisError)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .closed = state {} else {
            state = .closed(.connectionClosed())
        }
        failPending()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Removed from a live channel (the subscriber takes the channel over
        // after the handshake): nothing may be left waiting on this handler.
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        if case .closed = state {} else {
            state = .closed(.connectionClosed("the command handler was removed"))
        }
        failPending()
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is CloseWhenIdle else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if case .open = state {
            state = .closingWhenIdle
        }
        if queue.isEmpty {
            context.close(promise: nil)
        }
        promise?.succeed()
    }

    // MARK: - Failing

    private func fail(context: ChannelHandlerContext, _ error: RedisError) {
        if case .closed = state { return }
        state = .closed(error)
        failPending()
        context.close(promise: nil)
    }

    private func failPending() {
        guard case .closed(let error) = state else { return }
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        let pending = queue
        queue.removeAll()
        headReplies = []
        for request in pending {
            request.fail(error)
        }
    }

    // MARK: - Timeouts

    /// Makes sure a timer fires no later than `deadline`. One timer serves the
    /// whole queue: it is moved earlier when needed, and when it fires it
    /// re-arms itself for the earliest deadline still pending.
    private func armTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
        if let current = timerDeadline, current <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timerFired(context: context)
        }
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        timerDeadline = nil
        if case .closed = state { return }
        let now = context.eventLoop.now
        var earliest: NIODeadline?
        for request in queue {
            guard let deadline = request.deadline else { continue }
            if deadline <= now {
                timeOut(context: context, expired: request, now: now)
                return
            }
            earliest = min(earliest ?? deadline, deadline)
        }
        if let earliest {
            armTimer(context: context, at: earliest)
        }
    }

    private func timeOut(context: ChannelHandlerContext, expired: RedisRequest, now: NIODeadline) {
        let what = expired.commands.count == 1 ? expired.commands[0].name : "a pipeline of \(expired.commands.count) commands"
        let timeout = RedisError(.timeout, "no reply from Redis in time for \(what); the connection was closed")
        let closed = RedisError.connectionClosed("the connection was closed because an earlier command timed out")
        state = .closed(closed)
        timer?.cancel()
        let pending = queue
        queue.removeAll()
        headReplies = []
        for request in pending {
            if let deadline = request.deadline, deadline <= now {
                request.fail(timeout)
            } else {
                request.fail(closed)
            }
        }
        context.close(promise: nil)
    }
}
