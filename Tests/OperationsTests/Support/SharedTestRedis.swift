import Foundation
import HubTesting
import Redis
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The one redis-server (and client) of this test process that the
/// `StoreKind.redis` cases share, each store under its own key prefix.
///
/// `StoreKind.make()` is synchronous and the shared contract tests call it
/// as such, while starting redis-server is asynchronous: so the server is
/// started on the first call of the first such store, and lives as long as
/// the process. At exit (`atexit`), it is sent SIGTERM, so no server outlives
/// the test run. Tests that need a server of their own (to stop it, flush its
/// scripts, kill its clients) use `withRedisServer` instead.
final class SharedTestRedis: Sendable {
    struct Running: Sendable {
        let server: RedisServer
        let client: RedisClient
    }

    static let shared = SharedTestRedis()

    private let startup = Mutex<Task<Running, any Error>?>(nil)

    func running() async throws -> Running {
        let task = startup.withLock { task -> Task<Running, any Error> in
            if let task { return task }
            // Unstructured: the start is shared by every test that comes first, and what
            // it starts lives as long as the process.
            let started = Task { try await Self.start() }
            task = started
            return started
        }
        return try await task.value
    }

    private static func start() async throws -> Running {
        let server = try await RedisServer.start()
        let client = try RedisClient(configuration: try server.configuration(), logger: Fixtures.logger)
        // Unstructured: the shared client runs until the process exits.
        Task { try? await client.run() }
        try await withTimeout(10, "the shared Redis client to connect") { try await client.waitForConnection() }
        if let pid = try await Self.processID(client) { stopAtExit(pid) }
        return Running(server: server, client: client)
    }

    /// `process_id` of `INFO server`.
    static func processID(_ client: RedisClient) async throws -> Int32? {
        let info = try await client.send(["INFO", "server"]).string ?? ""
        let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("process_id:") }
        return line.flatMap { Int32($0.dropFirst("process_id:".count)) }
    }
}

private let sharedServerPID = Atomic<Int32>(0)

private func stopAtExit(_ pid: Int32) {
    sharedServerPID.store(pid, ordering: .relaxed)
    atexit {
        let pid = sharedServerPID.load(ordering: .relaxed)
        if pid > 0 { kill(pid, SIGTERM) }
    }
}
