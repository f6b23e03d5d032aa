import Foundation
import Gateway
import Hub
import HummingbirdTesting
import Logging
import NIOCore
import Operations
import Protocol
import ServiceLifecycle

/// A real hub node on a free loopback port, for tests over real sockets.
public struct TestHub: Sendable {
    public let port: Int
    public let server: HubServer
    public let secret: String
    public let group: ServiceGroup

    /// Starts a hub with `configure` applied to a test configuration, runs
    /// `body`, then shuts the hub down gracefully (also when `body` throws).
    /// `operationsClock` drives the operations' time (heartbeats, retention);
    /// `keepDataDir` leaves the data directory for a later hub to reopen.
    public static func run<T: Sendable>(
        configure: @Sendable (inout HubConfiguration) -> Void = { _ in },
        operationsClock: any OperationClock = SystemClock(), keepDataDir: Bool = false,
        _ body: @Sendable (TestHub) async throws -> T
    ) async throws -> T {
        var configuration = HubConfiguration()
        configuration.server.host = "127.0.0.1"
        configuration.server.port = 0
        configuration.dataDir = NSTemporaryDirectory() + "hub-test-" + UUID().uuidString
        let secret = "test-secret-" + UUID().uuidString + UUID().uuidString
        configuration.auth.jwtSecret = secret
        configuration.server.drainSeconds = 2
        configure(&configuration)
        let logger = Logger(label: "test-hub") { _ in SwiftLogNoOpLogHandler() }
        let server = try await HubServer(configuration: configuration, logger: logger, operationsClock: operationsClock)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let group = server.makeServiceGroup(signals: []) { port in portContinuation.yield(port) }
        defer { if !keepDataDir { try? FileManager.default.removeItem(atPath: configuration.dataDir) } }
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await withTimeout(10, "the hub to listen") {
                var iterator = ports.makeAsyncIterator()
                return await iterator.next() ?? 0
            }
            let hub = TestHub(port: port, server: server, secret: secret, group: group)
            let result: Result<T, any Error>
            do {
                result = .success(try await body(hub))
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }

    /// A token for `sub` in `tenant` with `roles` (default: admin of the tenant).
    public func token(
        sub: String = "alice", tenant: String = "acme", roles: [RoleGrant] = [RoleGrant(role: "admin")],
        ttl: TimeInterval = 3600, now: Date = Date()
    ) async throws -> String {
        let signer = await TokenSigner(secret: secret)
        return try await signer.sign(subject: sub, tenant: tenant, roles: roles, ttl: ttl, now: now)
    }

    public var wsURL: String { "ws://127.0.0.1:\(port)/ws/v1" }
}
