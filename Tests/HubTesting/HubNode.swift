import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `hub serve` child process (the built `.build/debug/hub`), for tests that
/// need real separate nodes: several hubs on one Redis, SIGKILL in the middle
/// of writes. It listens on a free port (`HUB_PORT=0`) and `start` returns
/// once it printed where.
public final class HubNode: Sendable {
    public let child: ChildProcess
    public let port: Int

    /// `.build/debug/hub` of this checkout.
    public static var executable: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/hub").path
    }

    private init(child: ChildProcess, port: Int) {
        self.child = child
        self.port = port
    }

    /// Starts a node with `environment` (HUB_* variables) on top of a clean
    /// environment: HUB_HOST=127.0.0.1, HUB_PORT=0, text logs at warning.
    public static func start(environment: [String: String], timeout: Double = 60) async throws -> HubNode {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ProbeError("\(executable) is missing: run `swift build --build-tests` first")
        }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HUB_") }
        env["HUB_HOST"] = "127.0.0.1"
        env["HUB_PORT"] = "0"
        env["HUB_LOG_LEVEL"] = "warning"
        env["HUB_LOG_FORMAT"] = "text"
        env.merge(environment) { _, given in given }
        let child = try ChildProcess.spawn(executable, arguments: ["serve"], environment: env)
        let marker = "listening on http://127.0.0.1:"
        do {
            try await withTimeout(timeout, "the hub node to listen") { try await child.waitForOutput(containing: marker) }
        } catch {
            child.send(SIGKILL)
            throw error
        }
        let output = child.output
        guard let range = output.range(of: marker), let port = Int(output[range.upperBound...].prefix { $0.isNumber }) else {
            child.send(SIGKILL)
            throw ProbeError("no port in the hub's output:\n\(output)")
        }
        return HubNode(child: child, port: port)
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var wsURL: String { "ws://127.0.0.1:\(port)/ws/v1" }

    /// SIGKILL: the node dies at once, as in a crash.
    public func kill() async {
        child.send(SIGKILL)
        _ = await child.waitForExit()
    }
}
