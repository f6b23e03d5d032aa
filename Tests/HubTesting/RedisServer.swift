import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import Synchronization

/// A real `redis-server` on a free loopback port, for integration tests.
///
/// It runs without persistence (`--save '' --appendonly no`). ``start(arguments:tls:)``
/// returns once the server has logged that it accepts connections (its log
/// is read from a pipe: no polling, no fixed sleeps). ``stop()`` sends
/// SIGTERM and waits until the process has exited and was reaped;
/// ``restart()`` starts it again on the same port with the same arguments.
/// Prefer ``withRedisServer(arguments:tls:_:)``, which always stops it.
public struct RedisServer: Sendable {
    /// Certificate files for a TLS-only server (`--port 0 --tls-port …`).
    public struct TLSFiles: Sendable {
        public var certificate: String
        public var key: String
        public var caCertificate: String
        public init(certificate: String, key: String, caCertificate: String) {
            self.certificate = certificate
            self.key = key
            self.caCertificate = caCertificate
        }
    }

    /// The port clients connect to (the TLS port for a TLS server).
    public let port: Int
    /// The extra arguments it was started with.
    public let arguments: [String]
    public let tls: TLSFiles?
    private let box: ProcessBox

    /// `redis://127.0.0.1:<port>` (or `rediss://…` for a TLS server).
    public var url: String { "\(tls == nil ? "redis" : "rediss")://127.0.0.1:\(port)" }

    /// Starts a server; `arguments` are appended (e.g. `["--requirepass", "secret"]`).
    /// The port is picked at random below the ephemeral range (see
    /// `freePort`); when another test server has it, another one is tried.
    public static func start(arguments: [String] = [], tls: TLSFiles? = nil, timeout: Double = 10) async throws -> RedisServer {
        var attempt = 1
        while true {
            let port = try await freePort()
            let server = RedisServer(port: port, arguments: arguments, tls: tls, box: ProcessBox(reserving: port))
            do {
                try await server.launch(timeout: timeout)
                return server
            } catch let error as RedisServerError where error.isAddressInUse && attempt < 10 {
                attempt += 1
            }
        }
    }

    /// Sends SIGTERM and returns once the process has exited. Does nothing
    /// when it is not running.
    public func stop(timeout: Double = 10) async throws {
        try await box.stop(timeout: timeout)
    }

    /// Stops the server (if running) and starts it again on the same port.
    /// The data set is empty afterwards, as after a real crash without persistence.
    public func restart(timeout: Double = 10) async throws {
        try await stop(timeout: timeout)
        try await launch(timeout: timeout)
    }

    /// What the server has logged so far, for failure messages.
    public var log: String { box.log }

    private func launch(timeout: Double) async throws {
        var all = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if let tls {
            all += [
                "--port", "0", "--tls-port", String(port), "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
                "--tls-ca-cert-file", tls.caCertificate, "--tls-auth-clients", "no",
            ]
        } else {
            all += ["--port", String(port)]
        }
        try await box.launch(arguments: all + arguments, timeout: timeout)
    }

    /// A port to try. Not from the kernel's ephemeral range (which `bind(0)`
    /// would give): every client connection of the parallel tests takes ports
    /// from that range, so a port found free there is often taken again before
    /// redis-server binds it. Below it, only other test servers compete, and
    /// `start` tries another port when the bind fails.
    static func freePort() async throws -> Int {
        let ephemeralStart = Self.ephemeralPortRange().lowerBound
        let upper = max(ephemeralStart, 11_000)
        while true {
            let port = Int.random(in: 10_000..<upper)
            if ProcessBox.reserve(port) { return port }
        }
    }

    /// `/proc/sys/net/ipv4/ip_local_port_range` (Linux's default when unreadable).
    static func ephemeralPortRange() -> ClosedRange<Int> {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1] else { return 32_768...60_999 }
        return bounds[0]...bounds[1]
    }
}

/// Starts a `redis-server`, runs `body`, and stops the server whether `body`
/// returns or throws.
public func withRedisServer<T: Sendable>(
    arguments: [String] = [], tls: RedisServer.TLSFiles? = nil, _ body: (RedisServer) async throws -> T
) async throws -> T {
    let server = try await RedisServer.start(arguments: arguments, tls: tls)
    let result: Result<T, any Error>
    do {
        result = .success(try await body(server))
    } catch {
        result = .failure(error)
    }
    try await server.stop()
    return try result.get()
}

public struct RedisServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The current redis-server process of a `RedisServer` (replaced on restart).
final class ProcessBox: Sendable {
    private let current = Mutex<ChildProcess?>(nil)
    private let port: Int

    /// Ports of the servers of this test process, stopped or not: a server
    /// stopped to be restarted keeps its port, so another test's server
    /// started meanwhile never takes it (its clients would reconnect to that
    /// one). Released when the server is gone.
    private static let reserved = Mutex<Set<Int>>([])

    static func reserve(_ port: Int) -> Bool {
        reserved.withLock { $0.insert(port).inserted }
    }

    init(reserving port: Int) {
        self.port = port
    }

    deinit {
        let port = self.port
        _ = Self.reserved.withLock { $0.remove(port) }
    }

    var log: String { current.withLock { $0?.output ?? "" } }

    func launch(arguments: [String], timeout: Double) async throws {
        let child = try ChildProcess.spawn("/usr/bin/redis-server", arguments: arguments)
        current.withLock { $0 = child }
        do {
            try await withTimeout(timeout, "redis-server to accept connections") {
                try await child.waitForOutput(containing: "Ready to accept connections")
            }
        } catch let error as ChildProcess.ExitedError {
            throw RedisServerError.exitedEarly("(wait status \(error.status))\n" + error.output)
        } catch {
            // Not ready in time: do not leave the process behind.
            try? await stop(timeout: timeout)
            throw error
        }
    }

    func stop(timeout: Double) async throws {
        guard let child = current.withLock({ $0 }), !child.hasExited else { return }
        child.send(SIGTERM)
        _ = try await withTimeout(timeout, "redis-server to exit") { await child.waitForExit() }
    }
}

extension RedisServerError {
    static func exitedEarly(_ log: String) -> RedisServerError {
        RedisServerError("redis-server exited before accepting connections:\n\(log)")
    }

    /// The chosen port was taken between finding it free and binding it.
    var isAddressInUse: Bool { description.contains("Address already in use") }

}
