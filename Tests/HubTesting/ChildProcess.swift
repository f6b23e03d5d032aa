import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A child process for tests (redis-server, hub nodes), spawned with
/// `posix_spawn`: its signal mask is empty and its dispositions are the
/// defaults (the test runner's threads block signals such as SIGTERM, and a
/// child would inherit that), its stdout and stderr go to one pipe that a
/// thread of ours reads until EOF, and that thread then reaps it with
/// `waitpid`. Every wait is an event (output seen, exit), never a poll.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    private let state = Mutex(State())

    private struct State {
        var output = ""
        var exitStatus: Int32?
        var outputWaiters: [(text: String, continuation: CheckedContinuation<Void, any Error>)] = []
        var exitWaiters: [CheckedContinuation<Int32, Never>] = []
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Thrown by `waitForOutput` when the process exits without printing the text.
    public struct ExitedError: Error, CustomStringConvertible {
        public let status: Int32
        public let output: String
        public var description: String { "process exited (status \(status)) before printing the expected text:\n\(output)" }
    }

    private init(pid: pid_t) {
        self.pid = pid
    }

    /// Starts `path` with `arguments`; `environment` replaces the environment when given.
    public static func spawn(_ path: String, arguments: [String], environment: [String: String]? = nil) throws -> ChildProcess {
        var fds: [Int32] = [0, 0]
        // Close-on-exec: other children spawned meanwhile must not inherit this pipe
        // (the dup2 below gives this child its own copies without the flag).
        // (pipe2 is not visible from Swift here; the window between pipe and fcntl is tiny.)
        guard pipe(&fds) == 0 else { throw SpawnError(description: "pipe failed: errno \(errno)") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let result = withCStrings([path] + arguments) { argv in
            withCStrings(env) { envp in
                posix_spawn(&pid, path, &actions, &attributes, argv, envp)
            }
        }
        close(fds[1])
        guard result == 0 else {
            close(fds[0])
            throw SpawnError(description: "posix_spawn \(path) failed: \(String(cString: strerror(result)))")
        }
        let child = ChildProcess(pid: pid)
        let reader = fds[0]
        // A thread (not the cooperative pool) blocks in read() and waitpid().
        let thread = Thread { child.pump(reader) }
        thread.start()
        return child
    }

    private func pump(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count < 0 {
                appended("[ChildProcess: reading the output failed, errno \(errno)]")
                break
            }
            guard count > 0 else { break }
            appended(String(decoding: buffer[0..<count], as: UTF8.self))
        }
        close(fd)
        var status: Int32 = 0
        var reaped = waitpid(pid, &status, 0)
        while reaped < 0, errno == EINTR { reaped = waitpid(pid, &status, 0) }
        if reaped < 0 { appended("[ChildProcess: waitpid failed, errno \(errno)]") }
        exited(status)
    }

    private func appended(_ text: String) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.output += text
            var ready: [CheckedContinuation<Void, any Error>] = []
            state.outputWaiters.removeAll { waiter in
                guard state.output.contains(waiter.text) else { return false }
                ready.append(waiter.continuation)
                return true
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    private func exited(_ status: Int32) {
        let (waiters, exits, output) = state.withLock { state in
            state.exitStatus = status
            defer {
                state.outputWaiters = []
                state.exitWaiters = []
            }
            return (state.outputWaiters.map(\.continuation), state.exitWaiters, state.output)
        }
        for waiter in waiters { waiter.resume(throwing: ExitedError(status: status, output: output)) }
        for exit in exits { exit.resume(returning: status) }
    }

    /// Everything printed so far.
    public var output: String { state.withLock { $0.output } }

    public var hasExited: Bool { state.withLock { $0.exitStatus != nil } }

    /// Returns once the output contains `text`; throws `ExitedError` if the
    /// process exits first. (Bound it with `withTimeout`.)
    public func waitForOutput(containing text: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome = state.withLock { state -> Result<Bool, ExitedError> in
                if state.output.contains(text) { return .success(true) }
                if let status = state.exitStatus { return .failure(ExitedError(status: status, output: state.output)) }
                state.outputWaiters.append((text, continuation))
                return .success(false)
            }
            switch outcome {
            case .success(true): continuation.resume()
            case .success(false): break
            case .failure(let error): continuation.resume(throwing: error)
            }
        }
    }

    /// The raw `waitpid` status once the process has exited and was reaped.
    public func waitForExit() async -> Int32 {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let status = state.withLock { state -> Int32? in
                if let status = state.exitStatus { return status }
                state.exitWaiters.append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Sends `signal` unless the process was already reaped (its pid may be reused then).
    public func send(_ signal: Int32) {
        state.withLock { state in
            if state.exitStatus == nil { kill(pid, signal) }
        }
    }
}

/// Runs `body` with a NULL-terminated C array of the strings.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
