import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix

struct PublisherConfig: Sendable {
    var server: SocketAddress
    var hostHeader: String
    var token: String
    var topics: TopicNames
    /// Requests in flight over all connections.
    var window: Int
    /// Keep-alive HTTP/1.1 connections; requests are pipelined on them. With 1 (the default) the
    /// hub accepts events in seq order, so out-of-order counts are the hub's doing.
    var connections: Int
    /// Extra bytes in `data.pad`.
    var padBytes: Int
}

/// A batch of publishes: `count` events, paced at `rate` per second (0 = as fast as the window allows).
struct PublishBatch: Sendable {
    var count: Int
    /// Warm-up events carry `seq: -1`; measured ones carry seq = job number.
    var warmup: Bool
    /// true: every event goes to topic 0; false: job j goes to topic j % topicCount.
    var sharedTopic: Bool
    var topicCount: Int
    var rate: Double
}

struct PublishResult: Sendable {
    var requested = 0
    var accepted = 0
    var rejected = 0
    var statusCounts: [Int: Int] = [:]
    /// Requests lost with their connection, or never sent because no connection was left.
    var errors = 0
    var firstSendNanos: UInt64 = 0
    var lastSendNanos: UInt64 = 0
    var lastResponseNanos: UInt64 = 0
    /// Request written → response end, microseconds.
    var roundTrip = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
}

enum PublisherError: Error {
    case couldNotConnect(String)
}

/// Publishes events with `POST /api/v1/events` over a few keep-alive connections, with at most
/// `window` requests in flight. Runs on its own event loop so that `sent_ns` is taken when the
/// request is really written, not after the subscribers' frames of the same loop.
final class Publisher {
    private let loop: any EventLoop
    private let config: PublisherConfig
    private let baseHeaders: HTTPHeaders
    private let pad: String
    private var live: [PublishConnectionHandler] = []
    private var pendingConnects = 0
    private var reconnects = 0
    private var closing = false
    private var bound: NIOLoopBound<Publisher>?

    private var batch: PublishBatch?
    private var done = true
    private var result = PublishResult()
    private var nextJob = 0
    private var inFlight = 0
    private var completed = 0
    private var startNanos: UInt64 = 0
    private var timer: Scheduled<Void>?

    /// Creates the publisher on `loop` and opens its connections.
    static func start(_ config: PublisherConfig, on loop: any EventLoop) -> EventLoopFuture<NIOLoopBound<Publisher>> {
        loop.flatSubmit {
            let publisher = Publisher(config: config, loop: loop)
            let bound = NIOLoopBound(publisher, eventLoop: loop)
            publisher.bound = bound
            let connects = (0..<max(config.connections, 1)).map { _ in publisher.openConnection() }
            return EventLoopFuture.whenAllSucceed(connects, on: loop).map { _ in bound }
        }
    }

    private init(config: PublisherConfig, loop: any EventLoop) {
        self.config = config
        self.loop = loop
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: config.hostHeader)
        headers.add(name: "Authorization", value: "Bearer \(config.token)")
        headers.add(name: "Content-Type", value: "application/json")
        self.baseHeaders = headers
        self.pad = String(repeating: "x", count: max(config.padBytes, 0))
    }

    /// Starts a batch; poll `progress()` and fetch `result` when done.
    func start(_ batch: PublishBatch) {
        self.batch = batch
        self.done = false
        self.result = PublishResult()
        self.result.requested = batch.count
        self.nextJob = 0
        self.inFlight = 0
        self.completed = 0
        self.startNanos = SystemSupport.monotonicNanos()
        self.pump()
        self.checkDone()
    }

    /// (batch finished, requests completed so far)
    func progress() -> (done: Bool, completed: Int) {
        (self.done, self.completed)
    }

    /// Figures of the current (or last) batch.
    var currentResult: PublishResult { self.result }

    func close() -> EventLoopFuture<Void> {
        self.closing = true
        self.timer?.cancel()
        // Take the list first: closing runs connectionDown, which removes from `live`.
        let connections = self.live
        self.live = []
        var futures: [EventLoopFuture<Void>] = []
        for connection in connections {
            if let closed = connection.close() { futures.append(closed) }
        }
        return EventLoopFuture.andAllComplete(futures, on: self.loop)
    }

    // MARK: connections

    private func openConnection() -> EventLoopFuture<Void> {
        guard let bound = self.bound else { return self.loop.makeSucceededVoidFuture() }
        self.pendingConnects += 1
        return ClientBootstrap(group: self.loop)
            .connectTimeout(.seconds(5))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(PublishConnectionHandler(publisher: bound.value))
                }
            }
            .connect(to: self.config.server)
            .assumeIsolated()
            .flatMapError { error in
                self.pendingConnects -= 1
                self.pump()
                self.checkDone()
                return self.loop.makeFailedFuture(PublisherError.couldNotConnect("\(error)")).assumeIsolated()
            }
            .map { _ in self.pendingConnects -= 1 }
            .nonisolated()
    }

    func connectionUp(_ connection: PublishConnectionHandler) {
        self.live.append(connection)
        self.pump()
    }

    func connectionDown(_ connection: PublishConnectionHandler, lostRequests: Int) {
        self.live.removeAll { $0 === connection }
        if lostRequests > 0 {
            self.inFlight -= lostRequests
            self.completed += lostRequests
            self.result.errors += lostRequests
        }
        if !self.closing && self.reconnects < 50 && self.live.count + self.pendingConnects < max(self.config.connections, 1) {
            self.reconnects += 1
            _ = self.openConnection()
        }
        self.pump()
        self.checkDone()
    }

    // MARK: sending

    private func pump() {
        guard let batch = self.batch else { return }
        let interval = batch.rate > 0 ? 1e9 / batch.rate : 0
        while self.nextJob < batch.count && self.inFlight < max(self.config.window, 1) {
            if interval > 0 {
                let due = self.startNanos + UInt64(Double(self.nextJob) * interval)
                let now = SystemSupport.monotonicNanos()
                if now < due {
                    self.scheduleTimer(in: due - now)
                    return
                }
            }
            guard let connection = self.pickConnection() else {
                if self.pendingConnects == 0 {
                    // No connection left and none coming: count the rest as not sent.
                    self.result.errors += batch.count - self.nextJob
                    self.completed += batch.count - self.nextJob
                    self.nextJob = batch.count
                }
                return
            }
            self.send(job: self.nextJob, batch: batch, on: connection)
            self.nextJob += 1
            self.inFlight += 1
        }
    }

    private func scheduleTimer(in nanos: UInt64) {
        guard self.timer == nil else { return }
        self.timer = self.loop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(nanos))) {
            self.timer = nil
            self.pump()
        }
    }

    private func pickConnection() -> PublishConnectionHandler? {
        var best: PublishConnectionHandler?
        for connection in self.live where best == nil || connection.outstanding < best!.outstanding {
            best = connection
        }
        return best
    }

    private func send(job: Int, batch: PublishBatch, on connection: PublishConnectionHandler) {
        let topicIndex = batch.sharedTopic ? 0 : job % max(batch.topicCount, 1)
        let seq = batch.warmup ? -1 : job
        let topic = self.config.topics.name(topicIndex)
        let sent = SystemSupport.monotonicNanos()
        var body = connection.allocator.buffer(capacity: 96 + topic.utf8.count + self.pad.utf8.count)
        body.writeString("{\"topic\":\"")
        body.writeString(topic)
        body.writeString("\",\"event\":\"bench\",\"data\":{\"seq\":")
        body.writeString(String(seq))
        body.writeString(",\"sent_ns\":")
        body.writeString(String(sent))
        if !self.pad.isEmpty {
            body.writeString(",\"pad\":\"")
            body.writeString(self.pad)
            body.writeString("\"")
        }
        body.writeString("}}")
        var headers = self.baseHeaders
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/api/v1/events", headers: headers)
        if self.result.firstSendNanos == 0 { self.result.firstSendNanos = sent }
        self.result.lastSendNanos = sent
        connection.send(head: head, body: body, sentNanos: sent)
    }

    func responded(status: Int, roundTripNanos: UInt64) {
        let now = SystemSupport.monotonicNanos()
        self.inFlight -= 1
        self.completed += 1
        if (200..<300).contains(status) {
            self.result.accepted += 1
        } else {
            self.result.rejected += 1
        }
        self.result.statusCounts[status, default: 0] += 1
        self.result.lastResponseNanos = now
        _ = self.result.roundTrip.record(min(roundTripNanos / 1000, 600_000_000))
        self.pump()
        self.checkDone()
    }

    private func checkDone() {
        guard let batch = self.batch, self.completed >= batch.count else { return }
        self.batch = nil
        self.done = true
        self.timer?.cancel()
        self.timer = nil
    }
}
