import NIOCore
import NIOHTTP1
import NIOPosix

/// Where the operations scenarios connect, and from where.
struct ConnectTarget: Sendable {
    var server: SocketAddress
    /// Source addresses 127.0.0.1…N; connection i binds address i % N (none: the kernel picks).
    var sources: [SocketAddress]
    var timeout: TimeAmount

    init(host: String, port: Int, sourceIPs: Int, timeout: TimeAmount = .seconds(10)) throws {
        self.server = try SocketAddress.makeAddressResolvingHost(host, port: port)
        self.sources = try (0..<sourceIPs).map { try SocketAddress(ipAddress: "127.0.0.\($0 + 1)", port: 0) }
        self.timeout = timeout
    }
}

/// What opening a set of connections gave.
struct ConnectOutcome: Sendable {
    var opened = 0
    var failures: [String: Int] = [:]
    var seconds = 0.0

    var failed: Int { self.failures.values.reduce(0, +) }
}

/// Opens keep-alive HTTP/1.1 client connections, at most `concurrency` connects in flight.
/// Connection i goes to `loops[i % loops.count]`; `install(i, channel)` runs on that loop in the
/// channel initializer and adds the handler (after NIO's HTTP client codec, which is already in).
enum HTTPConnector {
    static func open(
        count: Int,
        concurrency: Int,
        target: ConnectTarget,
        loops: [any EventLoop],
        install: @escaping @Sendable (Int, any Channel) throws -> Void,
        batchOpened: (Range<Int>) async -> Void = { _ in }
    ) async -> ConnectOutcome {
        var outcome = ConnectOutcome()
        let start = SystemSupport.monotonicNanos()
        var next = 0
        while next < count {
            let end = min(next + max(concurrency, 1), count)
            let futures = (next..<end).map { i in Self.connect(i, target: target, loop: loops[i % loops.count], install: install) }
            for future in futures {
                do {
                    _ = try await future.get()
                    outcome.opened += 1
                } catch {
                    outcome.failures[Self.describe(error), default: 0] += 1
                }
            }
            await batchOpened(next..<end)
            next = end
        }
        outcome.seconds = Double(SystemSupport.monotonicNanos() &- start) / 1e9
        return outcome
    }

    private static func connect(
        _ index: Int, target: ConnectTarget, loop: any EventLoop, install: @escaping @Sendable (Int, any Channel) throws -> Void
    ) -> EventLoopFuture<any Channel> {
        var bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(target.timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
        if !target.sources.isEmpty {
            bootstrap = bootstrap.bind(to: target.sources[index % target.sources.count])
        }
        return bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try install(index, channel)
                }
            }
            .connect(to: target.server)
    }

    private static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        return text.count > 120 ? String(text.prefix(120)) : text
    }
}
