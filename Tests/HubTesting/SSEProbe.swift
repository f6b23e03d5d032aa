import Foundation
import NIOCore
import NIOPosix

/// A Server-Sent Events client for tests over a raw socket: parses the
/// response head, chunked framing and SSE messages.
public final class SSEProbe: Sendable {
    public struct Message: Sendable {
        public var id: String?
        public var event: String?
        public var data: String

        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
        }
    }

    private let messages: AsyncStream<Message>
    private let iterator: IteratorBox
    private let task: Task<Void, any Error>
    /// The status line and headers, once received.
    private let headContinuation: AsyncStream<String>.Continuation
    private let heads: AsyncStream<String>

    final class IteratorBox: @unchecked Sendable {
        // Safe: a probe is read by one test task at a time, which calls next() sequentially.
        var iterator: AsyncStream<Message>.AsyncIterator
        init(_ iterator: AsyncStream<Message>.AsyncIterator) { self.iterator = iterator }
    }

    public init(port: Int, path: String, headers: [(String, String)] = []) {
        let (messages, continuation) = AsyncStream.makeStream(of: Message.self)
        let (heads, headContinuation) = AsyncStream.makeStream(of: String.self)
        self.messages = messages
        self.heads = heads
        self.headContinuation = headContinuation
        self.iterator = IteratorBox(messages.makeAsyncIterator())
        // An unstructured task holds the connection for the probe's lifetime.
        self.task = Task {
            defer {
                continuation.finish()
                headContinuation.finish()
            }
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
            try await channel.executeThenClose { inbound, outbound in
                var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                for (name, value) in headers { request += "\(name): \(value)\r\n" }
                try await outbound.write(ByteBuffer(string: request + "\r\n"))
                var raw: [UInt8] = []
                var body: [UInt8] = []
                var headDone = false
                var chunked = false
                for try await var chunk in inbound {
                    raw += chunk.readBytes(length: chunk.readableBytes) ?? []
                    if !headDone {
                        guard let end = raw.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                        let head = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
                        headContinuation.yield(head)
                        chunked = head.lowercased().contains("transfer-encoding: chunked")
                        raw.removeSubrange(..<end.upperBound)
                        headDone = true
                    }
                    var ended = false
                    if chunked {
                        while let line = raw.firstRange(of: Array("\r\n".utf8)) {
                            guard let size = Int(String(decoding: raw[..<line.lowerBound], as: UTF8.self), radix: 16) else { return }
                            guard raw.count >= line.upperBound + size + 2 else { break }
                            body += raw[line.upperBound..<line.upperBound + size]
                            raw.removeSubrange(..<(line.upperBound + size + 2))
                            // The last chunk: the messages read with it are still handed out below.
                            if size == 0 {
                                ended = true
                                break
                            }
                        }
                    } else {
                        body += raw
                        raw = []
                    }
                    while let end = body.firstRange(of: Array("\n\n".utf8)) {
                        let text = String(decoding: body[..<end.lowerBound], as: UTF8.self)
                        body.removeSubrange(..<end.upperBound)
                        var message = Message(id: nil, event: nil, data: "")
                        var hasData = false
                        for line in text.split(separator: "\n") {
                            if line.hasPrefix("id: ") { message.id = String(line.dropFirst(4)) }
                            if line.hasPrefix("event: ") { message.event = String(line.dropFirst(7)) }
                            if line.hasPrefix("data: ") {
                                message.data += String(line.dropFirst(6))
                                hasData = true
                            }
                        }
                        if hasData { continuation.yield(message) }
                    }
                    if ended { return }
                }
            }
        }
    }

    /// The response status line and headers.
    public func head(timeout: Double = 10) async throws -> String {
        let heads = self.heads
        let head: String? = try await withTimeout(timeout, "the SSE response head") {
            var it = heads.makeAsyncIterator()
            return await it.next()
        }
        guard let head else { throw ProbeError("no response") }
        return head
    }

    /// The next SSE message that carries data.
    public func next(timeout: Double = 10) async throws -> Message {
        let box = iterator
        let message: Message? = try await withTimeout(timeout, "an SSE message") {
            var it = box.iterator
            let value = await it.next()
            box.iterator = it
            return value
        }
        guard let message else { throw ProbeError("stream ended while waiting for a message") }
        return message
    }

    public func cancel() { task.cancel() }

    deinit { task.cancel() }
}
