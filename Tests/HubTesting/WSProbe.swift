import Foundation
import HTTPTypes
import NIOCore

/// A WebSocket client for tests: frames received are queued as JSON objects;
/// `next()` awaits the next one (with a timeout that fails the test), and
/// `closed()` awaits the close code the server sent.
public final class WSProbe: Sendable {
    private let outgoing: AsyncStream<Outgoing>.Continuation
    private let task: Task<Int?, any Error>
    private let iterator: IteratorBox
    private let gate: Gate
    private let handshakeHeads: AsyncStream<String>
    private let pings: AsyncStream<Void>

    enum Outgoing: Sendable {
        case text(String)
        case binary([UInt8])
        case raw([UInt8])
        case close
        /// TCP FIN without a close frame (the client stops sending, still reads).
        case halfClose
    }

    /// Holds the frame iterator so `next()` can be called on a `let`.
    final class IteratorBox: @unchecked Sendable {
        // Safe: a probe is read by one test task at a time, which calls next() sequentially.
        var iterator: AsyncStream<Data>.AsyncIterator
        init(_ iterator: AsyncStream<Data>.AsyncIterator) { self.iterator = iterator }
    }

    /// Connects to `url` (`ws://host:port/path?query`); `headers` are added to the upgrade request.
    /// `answerPings: false` makes a peer that reads but never answers pings (a dead peer, as far as heartbeats go).
    public init(url: String, headers: HTTPFields = [:], answerPings: Bool = true) {
        let (frames, framesContinuation) = AsyncStream.makeStream(of: Data.self)
        let (outgoingStream, outgoing) = AsyncStream.makeStream(of: Outgoing.self)
        self.outgoing = outgoing
        self.iterator = IteratorBox(frames.makeAsyncIterator())
        let gate = Gate()
        self.gate = gate
        let (heads, headsContinuation) = AsyncStream.makeStream(of: String.self)
        self.handshakeHeads = heads
        let (pings, pingsContinuation) = AsyncStream.makeStream(of: Void.self)
        self.pings = pings
        let target = Self.split(url)
        let extra = headers.map { ($0.name.rawName, $0.value) }
        // An unstructured task holds the connection for the probe's lifetime; `closed()` awaits it.
        self.task = Task {
            defer {
                framesContinuation.finish()
                headsContinuation.finish()
                pingsContinuation.finish()
            }
            let (socket, _) = try await RawWebSocket.connect(host: target.host, port: target.port, path: target.path, headers: extra)
            return try await socket.channel.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await item in outgoingStream {
                            switch item {
                            case .text(let text): try await outbound.write(RawWebSocket.encode(opcode: 1, payload: Array(text.utf8)))
                            case .binary(let bytes): try await outbound.write(RawWebSocket.encode(opcode: 2, payload: bytes))
                            case .raw(let bytes): try await outbound.write(ByteBuffer(bytes: bytes))
                            case .close: try await outbound.write(RawWebSocket.encode(opcode: 8, payload: [0x03, 0xE8]))
                            case .halfClose: try await socket.channel.channel.close(mode: .output)
                            }
                        }
                    }
                    defer { group.cancelAll() }
                    var buffer = ByteBuffer()
                    var upgraded = false
                    var message: [UInt8] = []
                    var reads = inbound.makeAsyncIterator()
                    while true {
                        await gate.pass()
                        guard var chunk = try await reads.next() else { return nil }
                        buffer.writeBuffer(&chunk)
                        if !upgraded {
                            guard let head = try RawWebSocket.splitHandshake(&buffer) else { continue }
                            headsContinuation.yield(head)
                            upgraded = true
                        }
                        while let frame = RawWebSocket.parse(&buffer) {
                            switch frame.opcode {
                            case 0x1, 0x2, 0x0:
                                message += frame.payload
                                if frame.fin {
                                    framesContinuation.yield(Data(message))
                                    message = []
                                }
                            case 0x9:
                                pingsContinuation.yield()
                                guard answerPings else { break }
                                try await outbound.write(RawWebSocket.encode(opcode: 0xA, payload: frame.payload))
                            case 0x8:
                                let code = frame.payload.count >= 2 ? Int(frame.payload[0]) << 8 | Int(frame.payload[1]) : nil
                                try? await outbound.write(RawWebSocket.encode(opcode: 8, payload: Array(frame.payload.prefix(2))))
                                return code
                            default:
                                break
                            }
                        }
                    }
                }
            }
        }
    }

    static func split(_ url: String) -> (host: String, port: Int, path: String) {
        let rest = url.replacingOccurrences(of: "ws://", with: "")
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        let parts = authority.split(separator: ":")
        return (String(parts[0]), parts.count > 1 ? Int(parts[1]) ?? 80 : 80, path)
    }

    /// Waits for the next WebSocket ping from the server (answered, unless `answerPings` is false).
    public func nextPing(timeout: Double = 10) async throws {
        let pings = self.pings
        let got: Void? = try await withTimeout(timeout, "a ping") {
            var it = pings.makeAsyncIterator()
            return await it.next()
        }
        guard got != nil else { throw ProbeError("closed before a ping") }
    }

    /// The `101 Switching Protocols` response head.
    public func handshake(timeout: Double = 10) async throws -> String {
        let heads = handshakeHeads
        let head: String? = try await withTimeout(timeout, "the upgrade response") {
            var it = heads.makeAsyncIterator()
            return await it.next()
        }
        guard let head else { throw ProbeError("no upgrade response") }
        return head
    }

    public func send(_ text: String) { outgoing.yield(.text(text)) }
    public func send(binary bytes: [UInt8]) { outgoing.yield(.binary(bytes)) }
    public func send(json object: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        send(String(decoding: data, as: UTF8.self))
    }
    /// Sends bytes as they are (a hand-made, possibly malformed frame).
    public func send(raw bytes: [UInt8]) { outgoing.yield(.raw(bytes)) }
    /// Sends a close frame (1000).
    public func close() { outgoing.yield(.close) }
    /// Ends the client's sending side (TCP FIN, no close frame); it keeps reading.
    public func halfClose() { outgoing.yield(.halfClose) }

    /// Stops reading from the socket, so the server's writes back up.
    public func pauseReading() async { await gate.close() }

    /// Reads again.
    public func resumeReading() async { await gate.open() }

    /// The next frame as a JSON object; fails after `timeout` seconds or when the connection ended.
    public func next(timeout: Double = 10) async throws -> [String: Any] {
        let data = try await nextRaw(timeout: timeout)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ProbeError("frame is not a JSON object: \(String(decoding: data, as: UTF8.self))")
        }
        return object
    }

    /// The next frame's bytes.
    public func nextRaw(timeout: Double = 10) async throws -> Data {
        let box = iterator
        let data: Data? = try await withTimeout(timeout, "a WebSocket frame") {
            var it = box.iterator
            let value = await it.next()
            box.iterator = it
            return value
        }
        guard let data else { throw ProbeError("connection closed while waiting for a frame") }
        return data
    }

    /// Skips frames until one of `type` and returns it.
    public func next(type: String, timeout: Double = 10) async throws -> [String: Any] {
        while true {
            let frame = try await next(timeout: timeout)
            if frame["type"] as? String == type { return frame }
        }
    }

    /// The close code the server sent (nil when the connection ended without a close frame).
    /// Throws when the upgrade was refused.
    public func closed(timeout: Double = 10) async throws -> Int? {
        let task = self.task
        return try await withTimeout(timeout, "the WebSocket to close") { try await task.value }
    }

    deinit {
        outgoing.finish()
    }
}

/// Lets the probe's reader stop and go.
actor Gate {
    private var isOpen = true
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func pass() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func close() { isOpen = false }

    func open() {
        isOpen = true
        let pending = waiters
        waiters = []
        for waiter in pending { waiter.resume() }
    }
}
