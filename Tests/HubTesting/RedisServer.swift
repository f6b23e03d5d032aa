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
    /// A port found free can be taken before the server binds it (tests run
    /// in parallel and their client sockets use ephemeral ports too): then
    /// it tries again on another port, a few times.
    public static func start(arguments: [String] = [], tls: TLSFiles? = nil, timeout: Double = 10) async throws -> RedisServer {
        var attempt = 1
        while true {
            let server = RedisServer(port: try await freePort(), arguments: arguments, tls: tls, box: ProcessBox())
            do {
                try await server.launch(timeout: timeout)
                return server
            } catch let error as RedisServerError where error.isAddressInUse && attempt < 5 {
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

    /// A port that was free a moment ago: bind port 0, read the port, close.
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        guard port > 0 else { throw RedisServerError("could not find a free port") }
        return port
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

/// The running process and what it logged; the readiness and exit events
/// arrive from Foundation's handlers on other threads, hence the lock.
final class ProcessBox: Sendable {
    private struct State {
        var process: Process?
        var log = ""
        var ready: CheckedContinuation<Void, any Error>?
        var exited: [CheckedContinuation<Void, Never>] = []
        var running = false
        /// Whether the current process's output pipe is still open.
        var outputOpen = false
        /// Counts launches, so that a previous process's late events are ignored.
        var generation = 0
    }

    private let state = Mutex(State())

    var log: String { state.withLock { $0.log } }

    func launch(arguments: [String], timeout: Double) async throws {
        do {
            try await withTimeout(timeout, "redis-server to accept connections") {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    // A child inherits the signal mask of the thread that
                    // spawns it, and the executor's threads block SIGTERM:
                    // spawn from a short-lived thread with nothing blocked,
                    // or redis-server would never see stop()'s SIGTERM.
                    let thread = Thread {
                        var nothing = sigset_t()
                        sigemptyset(&nothing)
                        pthread_sigmask(SIG_SETMASK, &nothing, nil)
                        self.run(arguments: arguments, ready: continuation)
                    }
                    thread.start()
                }
            }
        } catch {
            // Not ready in time: do not leave the process behind.
            try? await stop(timeout: timeout)
            throw error
        }
    }

    private func run(arguments: [String], ready: CheckedContinuation<Void, any Error>) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let generation = state.withLock { state in
            state.generation += 1
            return state.generation
        }
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                self.outputClosed(generation)
                return
            }
            self.logged(String(decoding: data, as: UTF8.self), generation)
        }
        process.terminationHandler = { [self] _ in self.terminated(generation) }
        let failure = state.withLock { state -> (any Error)? in
            state.log = ""
            state.ready = ready
            state.running = true
            state.outputOpen = true
            do {
                try process.run()
            } catch {
                state.ready = nil
                state.running = false
                return error
            }
            state.process = process
            return nil
        }
        if let failure { ready.resume(throwing: failure) }
    }

    func stop(timeout: Double) async throws {
        guard state.withLock({ $0.running }) else { return }
        try await withTimeout(timeout, "redis-server to exit") {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = self.state.withLock { state -> Bool in
                    if !state.running { return true }
                    state.exited.append(continuation)
                    state.process?.terminate()
                    return false
                }
                if done { continuation.resume() }
            }
        }
    }

    private func logged(_ text: String, _ generation: Int) {
        let ready = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard state.generation == generation else { return nil }
            state.log += text
            guard state.log.contains("Ready to accept connections") else { return nil }
            defer { state.ready = nil }
            return state.ready
        }
        ready?.resume()
    }

    private func outputClosed(_ generation: Int) {
        let (ready, log) = state.withLock { state -> (CheckedContinuation<Void, any Error>?, String) in
            guard state.generation == generation else { return (nil, "") }
            state.outputOpen = false
            // Exited before it was ready: report once its whole log is in.
            guard !state.running else { return (nil, "") }
            defer { state.ready = nil }
            return (state.ready, state.log)
        }
        ready?.resume(throwing: RedisServerError.exitedEarly(log))
    }

    private func terminated(_ generation: Int) {
        typealias Exit = (CheckedContinuation<Void, any Error>?, [CheckedContinuation<Void, Never>], String)
        let (ready, exited, log) = state.withLock { state -> Exit in
            guard state.generation == generation else { return (nil, [], "") }
            state.running = false
            let ready = state.outputOpen ? nil : state.ready
            if !state.outputOpen { state.ready = nil }
            defer { state.exited = [] }
            return (ready, state.exited, state.log)
        }
        ready?.resume(throwing: RedisServerError.exitedEarly(log))
        for continuation in exited { continuation.resume() }
    }
}

extension RedisServerError {
    static func exitedEarly(_ log: String) -> RedisServerError {
        RedisServerError("redis-server exited before accepting connections:\n\(log)")
    }

    /// The chosen port was taken between finding it free and binding it.
    var isAddressInUse: Bool { description.contains("Address already in use") }
}
