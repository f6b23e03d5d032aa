import ArgumentParser
import NIOCore

/// Options every `operations` sub-mode takes.
struct OperationsOptions: ParsableArguments {
    @Option(help: "Hub address (only 127.0.0.0/8 here).")
    var host = "127.0.0.1"

    @Option(help: "Hub port.")
    var port = 8080

    @Option(help: "JWT with operation:create/read/update (Bearer); default $HUB_TOKEN.")
    var token: String?

    @Option(name: .customLong("run-id"), help: "Run id in the operations' target ids (default: random).")
    var runID: String?

    @Flag(help: "Print one JSON object with every figure instead of the table.")
    var json = false

    @Option(name: .customLong("hub-pid"), help: "Pid(s) of the hub (comma-separated) for RSS and CPU figures.")
    var hubPid: String?

    @Option(help: "Event loop threads for the bench's connections.")
    var threads = 1

    @Option(name: .customLong("src-ips"), help: "Spread connections over source addresses 127.0.0.1…127.0.0.N (0 = no bind).")
    var srcIPs = 8

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    func resolve() throws -> OperationsContext {
        guard let token = self.token ?? SystemSupport.environment("HUB_TOKEN"), !token.isEmpty else {
            throw ValidationError("--token (or HUB_TOKEN) is required")
        }
        guard self.threads > 0 else { throw ValidationError("--threads must be > 0") }
        guard (0...254).contains(self.srcIPs) else { throw ValidationError("--src-ips must be 0…254") }
        return OperationsContext(
            host: self.host,
            port: self.port,
            run: self.runID ?? SystemSupport.randomRunID(),
            hubPids: ProcessMemory.parsePids(self.hubPid),
            threads: self.threads,
            sourceIPs: self.srcIPs,
            json: self.json,
            quiet: self.quiet,
            requests: OperationRequests(hostHeader: "\(self.host):\(self.port)", token: token)
        )
    }
}

/// The resolved common options of one `operations` run.
struct OperationsContext: Sendable {
    var host: String
    var port: Int
    var run: String
    var hubPids: [Int32]
    var threads: Int
    var sourceIPs: Int
    var json: Bool
    var quiet: Bool
    var requests: OperationRequests

    func log(_ text: String) {
        if !self.quiet { SystemSupport.writeStderr("[hub-bench] \(text)\n") }
    }

    func target() throws -> ConnectTarget {
        try ConnectTarget(host: self.host, port: self.port, sourceIPs: self.sourceIPs)
    }

    func report(_ scenario: String) -> OperationsReport {
        OperationsReport(scenario: scenario, runID: self.run, host: self.host, port: self.port, threads: self.threads)
    }

    /// Creates `count` operations over `control` (pipelined); their ids and versions, or throws
    /// with the first refusal.
    func createOperations(_ count: Int, control: ControlHandle) async throws -> [(id: String, version: Int)] {
        let requests = (0..<count).map { i -> ControlRequest in
            let (head, body) = self.requests.create(run: self.run, worker: i, allocator: .init())
            return ControlRequest(head: head, body: body)
        }
        let answers = try await control.send(requests)
        return try answers.map { answer in
            guard answer.status == 201, let id = answer.locationID, let version = answer.version else {
                throw ValidationError("could not create an operation: status \(answer.status) \(answer.bodySample ?? "")")
            }
            return (id, version)
        }
    }
}
