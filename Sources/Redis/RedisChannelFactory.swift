import NIOCore
import NIOPosix
import NIOSSL

/// Opens the TCP (and TLS) channel to Redis and sets up its pipeline; shared
/// by command connections and the subscriber connection.
struct RedisChannelFactory: Sendable {
    let configuration: RedisConfiguration
    let tlsContext: NIOSSLContext?
    let eventLoopGroup: any EventLoopGroup

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup) throws(RedisError) {
        self.configuration = try configuration.validated()
        self.eventLoopGroup = eventLoopGroup
        do {
            tlsContext = try configuration.tls.map { try NIOSSLContext(configuration: $0) }
        } catch {
            throw RedisError(.invalidConfiguration, "the TLS configuration is unusable: \(error)")
        }
    }

    /// Connects, adds the TLS handler when configured, then `initialize`s the
    /// rest of the pipeline on the channel's event loop.
    func connect<Output: Sendable>(
        _ initialize: @escaping @Sendable (any Channel) throws -> Output
    ) async throws(RedisError) -> Output {
        let configuration = self.configuration
        let tlsContext = self.tlsContext
        let serverName = configuration.tlsServerName ?? (Self.isIPAddress(configuration.host) ? nil : configuration.host)
        do {
            return try await ClientBootstrap(group: eventLoopGroup)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .connect(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tlsContext {
                            let tls = try NIOSSLClientHandler(context: tlsContext, serverHostname: serverName)
                            try channel.pipeline.syncOperations.addHandler(tls)
                        }
                        return try initialize(channel)
                    }
                }
        } catch let error as RedisError {
            throw error
        } catch ChannelError.connectTimeout {
            throw RedisError(.timeout, "connecting to \(configuration.host):\(configuration.port) took longer than \(configuration.connectTimeout)")
        } catch {
            throw RedisError(.connectionFailed, "could not connect to \(configuration.host):\(configuration.port): \(error)")
        }
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
