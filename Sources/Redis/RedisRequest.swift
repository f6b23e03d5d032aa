import NIOCore

/// What a caller writes into a command channel: one command or a pipeline of
/// commands, sent back-to-back, and where their replies go.
struct RedisRequest: Sendable {
    enum Response: Sendable {
        /// One command; its reply.
        case single(EventLoopPromise<RESPValue>)
        /// Several commands; their replies, in order.
        case pipeline(EventLoopPromise<[RESPValue]>)
    }

    let commands: [RedisCommand]
    let response: Response
    /// When the last reply must have arrived; nil waits without limit.
    let deadline: NIODeadline?

    func fail(_ error: any Error) {
        switch response {
        case .single(let promise): promise.fail(error)
        case .pipeline(let promise): promise.fail(error)
        }
    }
}
