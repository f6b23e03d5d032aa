import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// What the subscriber connections connect to and subscribe to.
struct ConnectPlan: Sendable {
    /// Connection i goes to `servers[i % servers.count]`.
    var servers: [SocketAddress]
    var hostHeader: String
    /// `/ws/v1?token=…`
    var uri: String
    var count: Int
    var concurrency: Int
    var sourceAddresses: [SocketAddress]
    var topics: TopicNames
    /// true: every connection subscribes to topic 0 (fan-out); false: connection i to topic i.
    var sharedTopic: Bool
    var expectation: Expectation
    var handshakeTimeout: TimeAmount
    var maxFrameSize: Int

    func topic(for index: Int) -> String {
        self.topics.name(self.sharedTopic ? 0 : index)
    }
}

/// Topic i is `<prefix>_<run>_<i>:status`.
struct TopicNames: Sendable {
    var prefix: String
    var run: String

    func name(_ index: Int) -> String {
        "\(self.prefix)_\(self.run)_\(index):status"
    }
}

/// An event loop and the counters of the connections on it.
struct LoopSlot: Sendable {
    let loop: any EventLoop
    let stats: NIOLoopBound<LoopStats>
}

/// Opens `plan.count` connections with at most `plan.concurrency` handshakes in flight, spread
/// round-robin over the loops. Lives on one control loop; each connection reports back (hopping
/// to that loop) when it has subscribed or failed, which starts the next one. No task per connection.
final class ConnectionLauncher {
    private let plan: ConnectPlan
    private let slots: [LoopSlot]
    private let control: any EventLoop
    private let done: EventLoopPromise<Void>
    private var next = 0
    private var inFlight = 0
    private var finished = 0
    private var bound: NIOLoopBound<ConnectionLauncher>?

    /// Opens every connection; the future succeeds when each one has subscribed or failed.
    static func launch(_ plan: ConnectPlan, slots: [LoopSlot], control: any EventLoop) -> EventLoopFuture<Void> {
        control.flatSubmit {
            let launcher = ConnectionLauncher(plan: plan, slots: slots, control: control)
            launcher.bound = NIOLoopBound(launcher, eventLoop: control)
            launcher.pump()
            return launcher.done.futureResult
        }
    }

    private init(plan: ConnectPlan, slots: [LoopSlot], control: any EventLoop) {
        self.plan = plan
        self.slots = slots
        self.control = control
        self.done = control.makePromise()
    }

    private func pump() {
        guard let bound = self.bound else { return }
        let control = self.control
        let onFinished: @Sendable () -> Void = {
            control.execute { bound.value.connectionFinished() }
        }
        while self.inFlight < self.plan.concurrency && self.next < self.plan.count {
            let index = self.next
            self.next += 1
            self.inFlight += 1
            let slot = self.slots[index % self.slots.count]
            let plan = self.plan
            slot.loop.execute {
                Self.open(index: index, plan: plan, slot: slot, onFinished: onFinished)
            }
        }
        if self.finished == self.plan.count {
            self.bound = nil
            self.done.succeed(())
        }
    }

    private func connectionFinished() {
        self.inFlight -= 1
        self.finished += 1
        self.pump()
    }

    /// Runs on `slot.loop`.
    private static func open(index: Int, plan: ConnectPlan, slot: LoopSlot, onFinished: @escaping @Sendable () -> Void) {
        let stats = slot.stats.value
        let handler = WebSocketClientHandler(
            index: index,
            topic: plan.topic(for: index),
            expectation: plan.expectation,
            stats: stats,
            connectStartNanos: SystemSupport.monotonicNanos(),
            onHandshakeFinished: onFinished
        )
        stats.handlers.append(handler)
        let boundHandler = NIOLoopBound(handler, eventLoop: slot.loop)
        var bootstrap = ClientBootstrap(group: slot.loop)
            .connectTimeout(plan.handshakeTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
        if !plan.sourceAddresses.isEmpty {
            // Several source addresses: 50,000 connections to one port would exhaust one address's ephemeral ports.
            bootstrap = bootstrap.bind(to: plan.sourceAddresses[index % plan.sourceAddresses.count])
        }
        bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configurePipeline(channel, handler: boundHandler, plan: plan)
                }
            }
            .connect(to: plan.servers[index % plan.servers.count])
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    boundHandler.value.connected(channel, handshakeTimeout: plan.handshakeTimeout)
                case .failure(let error):
                    boundHandler.value.failHandshake("connect: \(error)")
                }
            }
    }

    /// HTTP/1 client + typed upgrader; on 101 the WebSocket codec and our handler are added.
    private static func configurePipeline(
        _ channel: any Channel,
        handler: NIOLoopBound<WebSocketClientHandler>,
        plan: ConnectPlan
    ) throws {
        let upgrader = NIOTypedWebSocketClientUpgrader<Bool>(
            maxFrameSize: plan.maxFrameSize,
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler.value)
                    return true
                }
            }
        )
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: plan.hostHeader)
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: plan.uri, headers: headers)
        let upgrade = NIOTypedHTTPClientUpgradeConfiguration<Bool>(
            upgradeRequestHead: head,
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RejectedUpgradeHandler(handler: handler.value))
                    return false
                }
            }
        )
        var configuration = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
        // The server may send `welcome` in the same segment as the 101: keep those bytes.
        configuration.leftOverBytesStrategy = .forwardBytes
        let result = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
            configuration: configuration
        )
        result.assumeIsolated().whenFailure { error in
            handler.value.failHandshake("upgrade: \(error)")
        }
    }
}

/// Added when the server answered the upgrade request with something other than 101: records
/// the status (e.g. 401 for a bad token) as the failure reason and closes.
final class RejectedUpgradeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let handler: WebSocketClientHandler

    init(handler: WebSocketClientHandler) {
        self.handler = handler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = Self.unwrapInboundIn(data) {
            self.handler.failHandshake("http \(head.status.code) instead of 101")
            context.close(promise: nil)
        }
    }
}
