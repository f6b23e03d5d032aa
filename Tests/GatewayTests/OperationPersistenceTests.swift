import Foundation
import Gateway
import HTTPTypes
import HubTesting
import HummingbirdTesting
import NIOCore
import Operations
import Protocol
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `hub serve` child process (the built executable) on a data directory.
final class HubProcess: Sendable {
    let process: Process
    let port: Int
    private let exited: AsyncStream<Int32>

    /// `.build/debug/hub`, next to the test sources.
    static var executable: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/hub").path
    }

    static func start(dataDir: String, secret: String) async throws -> HubProcess {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ProbeError("\(executable) is missing: run `swift build --build-tests` first")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve"]
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HUB_") }
        environment["HUB_DATA_DIR"] = dataDir
        environment["HUB_HOST"] = "127.0.0.1"
        environment["HUB_PORT"] = "0"
        environment["HUB_JWT_SECRET"] = secret
        process.environment = environment
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        let (lines, lineSink) = AsyncStream.makeStream(of: String.self)
        let buffer = Mutex(Data())
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                handle.readabilityHandler = nil
                lineSink.finish()
                return
            }
            let complete = buffer.withLock { pending -> [String] in
                pending.append(chunk)
                var out: [String] = []
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    out.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...newline)
                }
                return out
            }
            for line in complete { lineSink.yield(line) }
        }
        let (exited, exitSink) = AsyncStream.makeStream(of: Int32.self)
        process.terminationHandler = { process in
            exitSink.yield(process.terminationStatus)
            exitSink.finish()
        }
        try process.run()
        // The hub logs "… listening on 127.0.0.1:PORT" on stderr once it accepts connections.
        let port = try await withTimeout(30, "the hub process to listen") { () -> Int in
            for await line in lines {
                if let range = line.range(of: "listening on 127.0.0.1:"), let port = Int(line[range.upperBound...].prefix { $0.isNumber }) {
                    return port
                }
            }
            throw ProbeError("the hub process ended before listening")
        }
        return HubProcess(process: process, port: port, exited: exited)
    }

    private init(process: Process, port: Int, exited: AsyncStream<Int32>) {
        self.process = process
        self.port = port
        self.exited = exited
    }

    /// SIGKILL, then wait for the process to be gone.
    func kill9() async throws {
        kill(process.processIdentifier, SIGKILL)
        let exited = self.exited
        _ = try await withTimeout(10, "the killed hub to exit") {
            var iterator = exited.makeAsyncIterator()
            return await iterator.next()
        }
    }

    func request(_ method: HTTPRequest.Method, _ path: String, token: String, json: String? = nil) async throws -> (Int, [String: Any]) {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if json != nil { headers[.contentType] = "application/json" }
        let request = TestClient.Request(path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in try await client.execute(request) }
        let body = response.body.map { Data($0.readableBytesView) } ?? Data()
        let data = ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["data"] as? [String: Any] ?? [:]
        return (Int(response.status.code), data)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// What the writers were told was stored.
final class Acknowledged: Sendable {
    struct Entry: Sendable {
        var version = 0
        var logSequence = 0
        var progress = 0
        var status = "pending"
    }

    private let state = Mutex<(entries: [String: Entry], writes: Int)>(([:], 0))
    private let milestones: AsyncStream<Int>.Continuation
    let writes: AsyncStream<Int>

    init() {
        (writes, milestones) = AsyncStream.makeStream(of: Int.self)
    }

    func record(_ id: String, _ data: [String: Any]) {
        let count = state.withLock { state -> Int in
            var entry = state.entries[id] ?? Entry()
            entry.version = max(entry.version, data["version"] as? Int ?? 0)
            entry.logSequence = max(entry.logSequence, data["log_sequence"] as? Int ?? data["last_sequence"] as? Int ?? 0)
            entry.progress = max(entry.progress, data["progress"] as? Int ?? 0)
            if let status = data["status"] as? String { entry.status = status }
            state.entries[id] = entry
            state.writes += 1
            return state.writes
        }
        milestones.yield(count)
    }

    var entries: [String: Entry] { state.withLock { $0.entries } }
}

@Suite("Operations persistence")
struct OperationPersistenceTests {
    @Test func aHubKilledInTheMiddleOfWritesRestartsWithAConsistentStore() async throws {
        let dataDir = NSTemporaryDirectory() + "hub-crash-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let secret = "crash-test-secret-" + UUID().uuidString + UUID().uuidString
        let hub = try await HubProcess.start(dataDir: dataDir, secret: secret)
        let token = try await TokenSigner(secret: secret).sign(subject: "writer", tenant: "acme", roles: [RoleGrant(role: "admin")], ttl: 600)
        let acked = Acknowledged()

        // Eight writers create operations and report on them in a loop until the hub dies.
        let writers = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        do {
                            while true {
                                let (status, created) = try await hub.request(.post, "/api/v1/operations", token: token, json: deployBody(app: "app_\(worker)"))
                                guard status == 201, let id = created["operation_id"] as? String else { return }
                                acked.record(id, created)
                                let started = try await hub.request(.patch, "/api/v1/operations/\(id)", token: token, json: #"{"status":"in_progress"}"#)
                                guard started.0 == 200 else { return }
                                acked.record(id, started.1)
                                for step in 1...5 {
                                    let logs = try await hub.request(
                                        .post, "/api/v1/operations/\(id)/logs", token: token, json: #"{"lines":["step \#(step) a","step \#(step) b"]}"#)
                                    guard logs.0 == 201 else { return }
                                    acked.record(id, logs.1)
                                    let patched = try await hub.request(
                                        .patch, "/api/v1/operations/\(id)", token: token, json: #"{"progress":\#(step * 20 - 10),"message":"step \#(step)"}"#)
                                    guard patched.0 == 200 else { return }
                                    acked.record(id, patched.1)
                                }
                                let done = try await hub.request(.patch, "/api/v1/operations/\(id)", token: token, json: #"{"status":"succeeded"}"#)
                                guard done.0 == 200 else { return }
                                acked.record(id, done.1)
                            }
                        } catch {
                            return  // the hub is gone
                        }
                    }
                }
            }
        }
        // Kill it once plenty of writes were acknowledged, with the writers still going.
        let writes = acked.writes
        _ = try await withTimeout(60, "500 acknowledged writes") {
            for await count in writes where count >= 500 { return count }
            throw ProbeError("the writers stopped early")
        }
        try await hub.kill9()
        await writers.value

        let store = try SQLiteOperationStore(dataDirectory: dataDir)
        #expect(try await store.consistencyProblems(logCap: OperationSettings().logLinesPerOperation) == [])
        let entries = acked.entries
        #expect(entries.count >= 8)
        for (id, entry) in entries {
            let stored = try #require(try await store.operation(OperationRef(tenant: "acme", id: id)), "acknowledged \(id) is lost")
            // Nothing acknowledged is lost (a write in flight at the kill may or may not be there).
            #expect(stored.version >= entry.version, "\(id)")
            #expect(stored.logSequence >= entry.logSequence, "\(id)")
            #expect(stored.progress >= entry.progress, "\(id)")
            let logs = try await store.logs(stored.ref, after: 0, limit: 1_000)
            #expect(logs.lines.count == stored.logSequence)
        }

        // A hub on the same data directory serves and changes them.
        let (anyID, _) = try #require(entries.first { $0.value.status == "in_progress" } ?? entries.first)
        try await TestHub.run(configure: {
            $0.dataDir = dataDir
            $0.auth.jwtSecret = secret
        }, keepDataDir: true) { restarted in
            let read = try await restarted.request(.get, "/api/v1/operations/\(anyID)", token: token)
            #expect(read.status == 200)
            if read.data["status"] as? String == "in_progress" {
                let patched = try await restarted.patchOperation(anyID, #"{"status":"succeeded"}"#, token: token)
                #expect(patched.status == 200)
                #expect(patched.data["version"] as? Int == (read.data["version"] as? Int ?? 0) + 1)
            }
        }
    }

    @Test func aRestartedHubKnowsTheTeamsOfStoredOperations() async throws {
        let dataDir = NSTemporaryDirectory() + "hub-restart-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let configure: @Sendable (inout HubConfiguration) -> Void = { $0.dataDir = dataDir }
        let id = try await TestHub.run(configure: configure, keepDataDir: true) { hub in
            try #require(try await hub.createOperation(deployBody(app: "app_r", team: "frontend"))["operation_id"] as? String)
        }
        try await TestHub.run(configure: configure, keepDataDir: true) { hub in
            let probe = try await connect(hub, sub: "dev", roles: [RoleGrant(role: "developer", scope: .team("frontend"))])
            let reply = try await subscribe(probe, ["operation:\(id):progress", "application:app_r:status"])
            #expect(Set(granted(reply)) == ["operation:\(id):progress", "application:app_r:status"], "\(reply)")
            let read = try await hub.request(.get, "/api/v1/operations/\(id)", token: try await hub.token())
            #expect(read.data["status"] as? String == "pending")
        }
    }
}
