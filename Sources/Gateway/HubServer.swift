import Foundation
import Hub
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import Operations
import Prometheus
import Protocol
import ServiceLifecycle
import UnixSignals

/// Everything one hub node runs, assembled from a configuration: the core,
/// the HTTP/WebSocket application, and the background services. `hub serve`
/// and the tests build the node the same way.
public struct HubServer: Sendable {
    public let configuration: HubConfiguration
    public let core: RealtimeCore
    public let verifier: TokenVerifier
    public let prometheus: PrometheusCollectorRegistry
    /// Operations: the store of the deployment (SQLite or Redis), events through the core's bus.
    public let operations: OperationService
    let backends: NodeBackends
    /// The loops of the HTTP and WebSocket connections (`server.event_loop_threads`).
    let loops: EventLoopService
    let logger: Logger

    public static let version = "0.1.0"

    public init(
        configuration: HubConfiguration, logger: Logger, operationsClock: any OperationClock = SystemClock()
    ) async throws {
        self.configuration = configuration
        self.logger = logger
        let registry = PrometheusCollectorRegistry()
        self.prometheus = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        let metrics = HubMetrics(factory: factory)
        let access = AccessControl(extraFamilies: Set(configuration.extraTopicFamilies))
        self.verifier = try await KeyLoader.verifier(configuration, logger: logger)
        let loops = EventLoopService(threads: configuration.server.eventLoopThreads)
        let backends: NodeBackends
        do {
            backends = try await NodeBackends.make(
                configuration: configuration, access: access, metrics: metrics, operationsClock: operationsClock,
                serverLoops: loops.group, logger: logger)
        } catch {
            await loops.shutdown()
            throw error
        }
        self.loops = loops
        self.backends = backends
        self.core = backends.core
        self.operations = backends.operations
    }

    /// `embedded` or `distributed`.
    public var mode: String { backends.mode.rawValue }

    /// Where the node keeps its state and how many threads serve it, for the start-up line.
    public var summary: String {
        "\(backends.summary), \(eventLoopThreads) event loop thread\(eventLoopThreads == 1 ? "" : "s")"
    }

    /// Event loop threads serving the node's connections.
    public var eventLoopThreads: Int { loops.count }

    /// The group those threads belong to (shut down when the service group
    /// of ``makeServiceGroup(signals:onServerRunning:)`` has stopped, unless
    /// it is NIO's shared one).
    public var eventLoopGroup: any EventLoopGroup { loops.group }

    /// The HTTP + WebSocket application. `onServerRunning` gets the bound port.
    public func makeApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let deps = RouteDependencies(
            core: core, configuration: configuration, verifier: verifier, prometheus: prometheus, startedAt: Date(),
            version: Self.version, operations: operations, mode: backends.mode.rawValue, redisReady: backends.redisReady,
            operationWaiters: Meter(label: "hub_operation_waiters", factory: PrometheusMetricsFactory(registry: prometheus)),
            encodedOperations: EncodedOperations(capacity: configuration.operations.cacheSize))
        let router = Router(context: HubRequestContext.self)
        router.add(middleware: ErrorEnvelopeMiddleware())
        router.add(middleware: AuthMiddleware(verifier: verifier))
        let api = router.group("api/v1")
        EventRoutes(deps: deps).register(on: api)
        IdentityRoutes(deps: deps).register(on: api)
        StreamRoute(deps: deps).register(on: api)
        StatusRoutes(deps: deps).register(api: api, root: router)
        OperationRoutes(deps: deps).register(on: api)

        let httpMetrics = HTTPMetrics(factory: PrometheusMetricsFactory(registry: prometheus))
        let responder = HubResponder(inner: router.buildResponder(), metrics: httpMetrics)
        // One channel type serves HTTP and upgrades /ws/v1 to the hub's own
        // WebSocket transport (on the event loop, permessage-deflate included).
        let upgrade = WebSocketUpgrade(core: core, verifier: verifier, configuration: configuration)
        // A connection whose first request is a plain long-poll waits in a channel handler, not a request task.
        let longPolls =
            configuration.operations.parkLongPolls
            ? LongPollParking(
                verifier: verifier, operations: operations, access: OperationAccess(access: core.access),
                settings: configuration.operations, encoded: deps.encodedOperations, waiters: deps.operationWaiters,
                metrics: httpMetrics)
            : nil
        let server = HTTPServerBuilder { responder in HubServerChannel(responder: responder, upgrade: upgrade, longPolls: longPolls) }
        return Application(
            responder: responder,
            server: server,
            configuration: .init(
                address: .hostname(configuration.server.host, port: configuration.server.port), serverName: "operations-hub",
                backlog: configuration.server.listenBacklog),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            eventLoopGroupProvider: .shared(loops.group),
            logger: logger)
    }

    /// The node's services in start order; a graceful shutdown stops them in
    /// reverse: first the drain (reconnect + 1012 to every WebSocket), then the
    /// HTTP server (in-flight requests finish), then the background services.
    public func makeServiceGroup(
        signals: [UnixSignal] = [.sigterm, .sigint], onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> ServiceGroup {
        let app = makeApplication(onServerRunning: onServerRunning)
        return ServiceGroup(
            configuration: .init(
                // Started in this order, stopped in reverse: Redis goes away after the HTTP server, the
                // server's event loops after everything else.
                services: [.init(service: loops)] + backends.services.map { .init(service: $0) } + [
                    .init(service: ExpirySweeper(registry: core.registry)),
                    .init(service: HeartbeatMonitor(operations: operations)),
                    .init(service: RetentionSweeper(operations: operations)),
                    .init(service: app),
                    .init(service: DrainService(registry: core.registry, timeout: .seconds(configuration.server.drainSeconds))),
                    // Stopped first: answers long-polls and ends log followers so the HTTP drain is not held.
                    .init(service: OperationWaitersShutdown(operations: operations)),
                ],
                gracefulShutdownSignals: signals,
                logger: logger))
    }
}
