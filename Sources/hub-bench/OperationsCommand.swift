import ArgumentParser

/// An `operations` sub-mode; `main.swift` runs it and prints its report.
protocol OperationsScenarioCommand: ParsableCommand {
    var options: OperationsOptions { get }
    func runScenario() async throws -> OperationsReport
}

extension OperationsScenarioCommand {
    /// Runs, prints the table (or the JSON line); exit status 1 when the run had errors.
    func runAndExit() async throws {
        let report = try await self.runScenario()
        SystemSupport.writeStdout(self.options.json ? report.jsonLine() + "\n" : report.table())
        if !report.ok { throw ExitCode(1) }
    }
}

extension HubBench {
    /// `hub-bench operations crud|get|waiters`: the operations REST API under load (Benchmarks/README.md).
    struct Operations: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Operations REST API: create/patch/get throughput, GET vs /health, long-poll waiters.",
            subcommands: [Crud.self, Get.self, Waiters.self]
        )
    }
}

extension HubBench.Operations {
    struct Crud: OperationsScenarioCommand {
        static let configuration = CommandConfiguration(
            abstract: "N workers: create an operation, PATCH it with If-Match and GET it, over and over; each kind's rate and latency."
        )

        @Option(help: "Workers (one keep-alive connection each, one request in flight).")
        var workers = 32

        @Option(help: "Measured seconds.")
        var duration = 10.0

        @Option(help: "Unmeasured seconds before the measured window.")
        var warmup = 2.0

        @Option(help: "Progress PATCHes (each followed by a GET) per operation before it is finished.")
        var patches = 10

        @Option(name: .customLong("stale-every"), help: "Send every Kth PATCH with a stale If-Match, expecting 412 (0 = never).")
        var staleEvery = 0

        @Option(help: "Connects in flight.")
        var concurrency = 100

        @OptionGroup var options: OperationsOptions

        func runScenario() async throws -> OperationsReport {
            guard self.workers > 0, self.duration > 0, self.warmup >= 0, self.patches > 0, self.staleEvery >= 0 else {
                throw ValidationError("--workers, --duration, --patches must be > 0; --warmup, --stale-every >= 0")
            }
            return try await CrudScenario(
                context: try self.options.resolve(), workers: self.workers, duration: self.duration, warmup: self.warmup,
                patchesPerOperation: self.patches, staleEvery: self.staleEvery, concurrency: self.concurrency
            ).run()
        }
    }

    struct Get: OperationsScenarioCommand {
        static let configuration = CommandConfiguration(
            abstract: "GET /api/v1/operations/{id} vs GET /health: same connections, same duration, in one run; the ratio."
        )

        @Option(help: "Connections (each asks again as soon as it is answered).")
        var conns = 50

        @Option(help: "Requests pipelined per connection.")
        var pipeline = 1

        @Option(help: "Operations to read (connection i reads operation i mod N).")
        var ops = 16

        @Option(help: "Phases, in order: health (no token), get, health_token (GET /health with the token).")
        var phases = "health,get,health_token"

        @Option(help: "Times the phases are run (figures are summed per phase).")
        var rounds = 2

        @Option(help: "Measured seconds per phase.")
        var duration = 10.0

        @Option(help: "Unmeasured seconds at the start of each phase.")
        var warmup = 2.0

        @Option(help: "Connects in flight.")
        var concurrency = 100

        @OptionGroup var options: OperationsOptions

        func runScenario() async throws -> OperationsReport {
            var kinds: [RequestKind] = []
            for name in self.phases.split(separator: ",") {
                guard let kind = RequestKind(name: String(name)), [.health, .get, .healthWithToken].contains(kind) else {
                    throw ValidationError("--phases takes health, get, health_token (not '\(name)')")
                }
                kinds.append(kind)
            }
            guard !kinds.isEmpty, Set(kinds).count == kinds.count else { throw ValidationError("--phases: each phase once") }
            guard self.conns > 0, self.pipeline > 0, self.ops > 0, self.rounds > 0, self.duration > 0, self.warmup >= 0 else {
                throw ValidationError("--conns, --pipeline, --ops, --rounds, --duration must be > 0; --warmup >= 0")
            }
            return try await ReadScenario(
                context: try self.options.resolve(), connections: self.conns, depth: self.pipeline, operations: self.ops,
                phases: kinds, rounds: self.rounds, duration: self.duration, warmup: self.warmup, concurrency: self.concurrency
            ).run()
        }
    }

    struct Waiters: OperationsScenarioCommand {
        static let configuration = CommandConfiguration(
            abstract: "W parked long-polls (If-None-Match + wait_seconds): hub memory, then a PATCH per operation and each waiter's wake latency."
        )

        @Option(help: "Long-poll waiters (one connection each).")
        var n = 10_000

        @Option(help: "Operations the waiters are spread over (waiter i waits on operation i mod N).")
        var ops = 10

        @Option(name: .customLong("wait-seconds"), help: "wait_seconds of each long-poll (the hub allows ≤ 60).")
        var waitSeconds = 60

        @Option(help: "Connects in flight.")
        var concurrency = 200

        @Option(name: .customLong("idle-cpu"), help: "Parked = the hub's CPU below this % (of one core) over one --idle-window.")
        var idleCPU = 5.0

        @Option(name: .customLong("idle-window"), help: "Seconds per CPU sample while waiting for the hub to park every waiter.")
        var idleWindow = 0.5

        @Option(name: .customLong("park-timeout"), help: "Give up waiting for the hub to go idle after this many seconds.")
        var parkTimeout = 30.0

        @Option(help: "Extra seconds between parked and reading the hub's memory (without --hub-pid: the only wait).")
        var settle = 0.0

        @Option(help: "Keep the waiters parked this many seconds after reading the memory (to look at the hub), then wake them.")
        var hold = 0.0

        @Flag(name: .customLong("connections-only"), help: "Only open the connections (no long-poll) and measure the hub's memory: the connections' share.")
        var connectionsOnly = false

        @Flag(
            name: .customLong("send-on-connect"),
            help: "Write each batch's long-polls as soon as its --concurrency connects are open (as clients that connect to ask do), instead of opening every connection first: the memory figure is then the parked waiters' alone, not the high-water mark of 10,000 idle connections.")
        var sendOnConnect = false

        @OptionGroup var options: OperationsOptions

        func runScenario() async throws -> OperationsReport {
            guard self.n > 0, self.ops > 0, (1...3600).contains(self.waitSeconds), self.concurrency > 0, self.idleWindow > 0 else {
                throw ValidationError("--n, --ops, --concurrency, --idle-window must be > 0; --wait-seconds 1…3600")
            }
            guard self.hold >= 0, self.connectionsOnly || self.hold + 10 < Double(self.waitSeconds) else {
                throw ValidationError("--hold must be >= 0 and leave 10 s of --wait-seconds for the wake-up")
            }
            let context = try self.options.resolve()
            return try await WaiterScenario(
                context: context, waiters: self.n, operations: self.ops, waitSeconds: self.waitSeconds, concurrency: self.concurrency,
                idleCPU: self.idleCPU, idleWindow: self.idleWindow, parkTimeout: self.parkTimeout,
                settle: context.hubPids.isEmpty ? max(self.settle, 2) : self.settle, hold: self.hold, connectionsOnly: self.connectionsOnly,
                sendOnConnect: self.sendOnConnect
            ).run()
        }
    }
}
