import ArgumentParser

/// `hub-bench connect|fanout|topics|operations`: see Benchmarks/README.md.
struct HubBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub-bench",
        abstract: "Load generator for the Operations Hub: WebSocket subscribers over SwiftNIO, HTTP publisher, operations REST load.",
        subcommands: [Connect.self, Fanout.self, Topics.self, Operations.self]
    )
}

/// A scenario subcommand; `main.swift` runs it with `BenchRunner`.
protocol ScenarioCommand: ParsableCommand {
    func settings() throws -> BenchSettings
}

/// Options every scenario takes.
struct CommonOptions: ParsableArguments {
    @Option(help: "Hub address (only 127.0.0.0/8 here).")
    var host = "127.0.0.1"

    @Option(help: "Hub port.")
    var port = 8080

    @Option(help: "JWT for the WebSocket (?token=) and the publish API (Bearer); default $HUB_TOKEN.")
    var token: String?

    @Option(help: "WebSocket path.")
    var path = "/ws/v1"

    @Option(
        name: .customLong("sub-ports"),
        help: "Subscriber ports, comma-separated: connection i goes to port i mod count (nodes sharing one Redis); default --port.")
    var subPorts: String?

    @Option(help: "Topic i is <prefix>_<run>_<i>:status.")
    var topicPrefix = "application:bench"

    @Option(name: .customLong("run-id"), help: "Run id in topic names (default: random).")
    var runID: String?

    @Option(help: "Extra padding bytes in each event's data (string field \"pad\").")
    var size = 0

    @Flag(help: "Print one JSON object with every figure instead of the table.")
    var json = false

    @Option(name: .customLong("hub-pid"), help: "Pid(s) of the hub (comma-separated) for RSS and CPU figures.")
    var hubPid: String?

    @Option(help: "Event loop threads for the subscriber connections.")
    var threads = 1

    @Option(name: .customLong("src-ips"), help: "Spread connections over source addresses 127.0.0.1…127.0.0.N (0 = no bind).")
    var srcIPs = 8

    @Option(help: "WebSocket handshakes in flight.")
    var concurrency = 200

    @Option(help: "Publish requests in flight.")
    var window = 16

    @Option(name: .customLong("pub-conns"), help: "Publish connections (requests are pipelined; >1 may reorder events).")
    var pubConns = 1

    @Option(help: "Stop draining when nothing arrived for this many seconds.")
    var stall = 3.0

    @Option(name: .customLong("drain-timeout"), help: "Stop draining this many seconds after publishing ended, in any case.")
    var drainTimeout = 120.0

    @Option(name: .customLong("handshake-timeout"), help: "Seconds for TCP connect → subscribed before a connection counts as failed.")
    var handshakeTimeout = 30.0

    @Option(help: "Seconds to let the hub settle before reading its memory (connect).")
    var settle = 2.0

    @Option(help: "Keep the connections open this many seconds before closing them.")
    var hold = 0.0

    @Option(name: .customLong("ready-file"), help: "Write this file once every connection is subscribed (and settled).")
    var readyFile: String?

    @Option(name: .customLong("release-file"), help: "End --hold early as soon as this file exists.")
    var releaseFile: String?

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    func settings(scenario: Expectation.Mode, connections: Int, messages: Int, rate: Double) throws -> BenchSettings {
        guard let token = self.token ?? SystemSupport.environment("HUB_TOKEN"), !token.isEmpty else {
            throw ValidationError("--token (or HUB_TOKEN) is required")
        }
        guard connections > 0 else { throw ValidationError("--n must be > 0") }
        guard messages >= 0, rate >= 0, self.threads > 0, self.concurrency > 0, self.window > 0, self.pubConns > 0 else {
            throw ValidationError("--msgs, --rate must be >= 0; --threads, --concurrency, --window, --pub-conns > 0")
        }
        guard (0...254).contains(self.srcIPs) else { throw ValidationError("--src-ips must be 0…254") }
        let subscriberPorts = try (self.subPorts ?? "\(self.port)").split(separator: ",").map { text in
            guard let port = Int(text.filter { $0 != " " }), (1...65_535).contains(port) else {
                throw ValidationError("--sub-ports: '\(text)' is not a port")
            }
            return port
        }
        guard !subscriberPorts.isEmpty else { throw ValidationError("--sub-ports: no port") }
        return BenchSettings(
            scenario: scenario,
            host: self.host,
            port: self.port,
            subscriberPorts: subscriberPorts,
            token: token,
            path: self.path,
            topics: TopicNames(prefix: self.topicPrefix, run: self.runID ?? SystemSupport.randomRunID()),
            size: self.size,
            json: self.json,
            hubPids: ProcessMemory.parsePids(self.hubPid),
            threads: self.threads,
            sourceIPs: self.srcIPs,
            concurrency: self.concurrency,
            window: self.window,
            publishConnections: self.pubConns,
            stall: self.stall,
            drainTimeout: self.drainTimeout,
            handshakeTimeout: self.handshakeTimeout,
            settle: self.settle,
            hold: self.hold,
            readyFile: self.readyFile,
            releaseFile: self.releaseFile,
            quiet: self.quiet,
            connections: connections,
            messages: messages,
            rate: rate
        )
    }
}

extension HubBench {
    struct Connect: ScenarioCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open N connections (each on its own topic): connections/s, handshake latency, hub RSS per connection."
        )

        @Option(help: "Connections.")
        var n: Int

        @OptionGroup var common: CommonOptions

        func settings() throws -> BenchSettings {
            try self.common.settings(scenario: .none, connections: self.n, messages: 0, rate: 0)
        }
    }

    struct Fanout: ScenarioCommand {
        static let configuration = CommandConfiguration(
            abstract: "N connections on ONE topic; M events at R/s: throughput, latency, loss."
        )

        @Option(help: "Connections.")
        var n: Int

        @Option(help: "Events to publish.")
        var msgs = 100

        @Option(help: "Publishes per second (0 = unthrottled, bounded by --window).")
        var rate = 0.0

        @OptionGroup var common: CommonOptions

        func settings() throws -> BenchSettings {
            try self.common.settings(scenario: .fanout, connections: self.n, messages: self.msgs, rate: self.rate)
        }
    }

    struct Topics: ScenarioCommand {
        static let configuration = CommandConfiguration(
            abstract: "N connections each on its own topic; event j goes to topic j mod N."
        )

        @Option(help: "Connections.")
        var n: Int

        @Option(help: "Events to publish.")
        var msgs = 100

        @Option(help: "Publishes per second (0 = unthrottled, bounded by --window).")
        var rate = 0.0

        @OptionGroup var common: CommonOptions

        func settings() throws -> BenchSettings {
            try self.common.settings(scenario: .topics, connections: self.n, messages: self.msgs, rate: self.rate)
        }
    }
}

/// The resolved options of one run.
struct BenchSettings: Sendable {
    var scenario: Expectation.Mode
    var host: String
    var port: Int
    /// Where subscribers connect, round-robin (the publisher uses `port`).
    var subscriberPorts: [Int]
    var token: String
    var path: String
    var topics: TopicNames
    var size: Int
    var json: Bool
    var hubPids: [Int32]
    var threads: Int
    var sourceIPs: Int
    var concurrency: Int
    var window: Int
    var publishConnections: Int
    var stall: Double
    var drainTimeout: Double
    var handshakeTimeout: Double
    var settle: Double
    var hold: Double
    var readyFile: String?
    var releaseFile: String?
    var quiet: Bool
    var connections: Int
    var messages: Int
    var rate: Double

    var scenarioName: String {
        switch self.scenario {
        case .none: "connect"
        case .fanout: "fanout"
        case .topics: "topics"
        }
    }
}
