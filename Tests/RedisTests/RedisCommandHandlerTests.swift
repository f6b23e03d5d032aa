import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import Redis

/// The codec and the command queue on an `EmbeddedChannel`: bytes in,
/// bytes out, time advanced by hand.
@Suite("RedisCommandHandler")
struct RedisCommandHandlerTests {
    let loop = EmbeddedEventLoop()
    let channel: EmbeddedChannel

    init() throws {
        channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandlers(RESPReplyDecoder(limits: RedisReplyLimits()), RedisCommandHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
    }

    func single(_ command: RedisCommand, timeout: TimeAmount? = nil) -> EventLoopFuture<RESPValue> {
        let promise = loop.makePromise(of: RESPValue.self)
        channel.writeAndFlush(RedisRequest(commands: [command], response: .single(promise), deadline: timeout.map { loop.now + $0 }), promise: nil)
        return promise.futureResult
    }

    func pipeline(_ commands: [RedisCommand], timeout: TimeAmount? = nil) -> EventLoopFuture<[RESPValue]> {
        let promise = loop.makePromise(of: [RESPValue].self)
        channel.writeAndFlush(RedisRequest(commands: commands, response: .pipeline(promise), deadline: timeout.map { loop.now + $0 }), promise: nil)
        return promise.futureResult
    }

    func written() throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    func reply(_ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    /// The error of a completed future (embedded futures complete synchronously).
    func failure<T: Sendable>(_ future: EventLoopFuture<T>) -> RedisError? {
        let box = ResultBox<RedisError>()
        future.whenFailure { box.set($0 as? RedisError) }
        return box.get()
    }

    /// The value of a completed future; nil while it is pending or failed.
    func value<T: Sendable>(_ future: EventLoopFuture<T>) -> T? {
        let box = ResultBox<T>()
        future.whenSuccess { box.set($0) }
        return box.get()
    }

    @Test func repliesGoToRequestsInOrderAcrossChunks() throws {
        let first = single(["GET", "a"])
        let batch = pipeline([["INCR", "n"], ["NOPE"], ["PING"]])
        let last = single(["GET", "b"])
        #expect(try written() == "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*1\r\n$4\r\nNOPE\r\n*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n")
        try reply("$1\r\nA\r\n:1\r\n-ERR unkn")
        #expect(value(first) == .bulk("A"))
        #expect(value(batch) == nil)
        try reply("own\r\n+PONG\r\n$-")
        #expect(value(batch) == [.integer(1), .error("ERR unknown"), .simpleString("PONG")])
        #expect(value(last) == nil)
        try reply("1\r\n")
        #expect(value(last) == .bulkString(nil))
    }

    @Test func anEmptyPipelineSucceedsWithoutWriting() throws {
        let batch = pipeline([])
        #expect(value(batch) == [])
        #expect(try written() == "")
    }

    @Test func aReplyWithoutARequestIsAProtocolError() throws {
        try reply("+OK\r\n")
        #expect(!channel.isActive)
        let late = single(["PING"])
        #expect(failure(late)?.code == .protocolError)
    }

    @Test func garbageFailsEveryPendingRequestAndCloses() throws {
        let first = single(["GET", "a"])
        let second = single(["GET", "b"])
        // The command handler consumes the error: it fails the requests instead.
        try reply("!bogus\r\n")
        #expect(failure(first)?.code == .protocolError)
        #expect(failure(second)?.code == .protocolError)
        #expect(!channel.isActive)
    }

    @Test func aLateReplyTimesOutAndClosesTheConnection() throws {
        let slow = single(["GET", "a"], timeout: .milliseconds(100))
        let patient = single(["GET", "b"], timeout: .seconds(60))
        let unbounded = single(["GET", "c"])
        loop.advanceTime(by: .milliseconds(99))
        #expect(value(slow) == nil && failure(slow) == nil)
        loop.advanceTime(by: .milliseconds(1))
        #expect(failure(slow)?.code == .timeout)
        #expect(failure(patient)?.code == .connectionClosed)
        #expect(failure(unbounded)?.code == .connectionClosed)
        #expect(!channel.isActive)
    }

    @Test func theTimerFollowsTheEarliestPendingDeadline() throws {
        let first = single(["GET", "a"], timeout: .milliseconds(100))
        let second = single(["GET", "b"], timeout: .milliseconds(300))
        loop.advanceTime(by: .milliseconds(50))
        try reply("+a\r\n")
        #expect(value(first) == .simpleString("a"))
        // The first deadline passes with nothing overdue: the timer re-arms for the second.
        loop.advanceTime(by: .milliseconds(100))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(149))
        #expect(failure(second) == nil)
        loop.advanceTime(by: .milliseconds(1))
        #expect(failure(second)?.code == .timeout)
    }

    @Test func repliesInTimeNeverTimeOut() throws {
        for index in 0..<100 {
            let future = single(["INCR", "n"], timeout: .milliseconds(10))
            loop.advanceTime(by: .milliseconds(5))
            try reply(":\(index)\r\n")
            #expect(value(future) == .integer(Int64(index)))
        }
        loop.advanceTime(by: .seconds(1))
        #expect(channel.isActive)
    }

    @Test func closeWhenIdleWaitsForPendingReplies() throws {
        let pending = single(["GET", "a"])
        channel.pipeline.triggerUserOutboundEvent(RedisCommandHandler.CloseWhenIdle(), promise: nil)
        #expect(channel.isActive)
        let refused = single(["GET", "b"])
        #expect(failure(refused)?.code == .shutDown)
        try reply("+done\r\n")
        #expect(value(pending) == .simpleString("done"))
        #expect(!channel.isActive)
    }

    @Test func closingFailsPendingRequests() throws {
        let pending = pipeline([["GET", "a"], ["GET", "b"]])
        try reply("+one\r\n")
        try channel.close().wait()
        #expect(failure(pending)?.code == .connectionClosed)
    }
}

final class ResultBox<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)
    func set(_ newValue: T?) { value.withLock { $0 = newValue } }
    func get() -> T? { value.withLock { $0 } }
}
