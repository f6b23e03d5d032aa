import Foundation
import Hub
import Operations

/// The whole configuration of a hub node. Every field has a default, so
/// nothing is required to start; `HubConfiguration+Loading.swift` reads the
/// YAML file and the `HUB_*` environment variables over these defaults.
public struct HubConfiguration: Sendable, Equatable {
    public var server = Server()
    /// Directory of the embedded store and the generated JWT secret.
    public var dataDir = "./.hub"
    /// `redis://[user:pass@]host:port/db` or `rediss://…`: distributed mode
    /// (events, history, operations and ingestion through Redis).
    public var redisURL: String?
    /// Connections of the Redis command pool (the subscriber and the ingest
    /// consumer have their own).
    public var redisPoolSize = 4
    /// Distributed mode: a topic's history, epoch and last value expire this
    /// many seconds after its last event (nil: kept until trimmed; see Docs/deployment.md).
    public var topicTTLSeconds: Int?
    /// Distributed mode: the ingest reader trims `hub:ingest` of what every
    /// consumer group has acknowledged (off: something else bounds it).
    public var ingestTrim = true
    /// This node's name in Redis (client names, the ingest consumer); unique per node.
    public var nodeID = HubConfiguration.defaultNodeID()
    public var auth = Auth()
    /// Origins allowed to open WebSockets and make CORS requests; empty = any.
    public var allowedOrigins: [String] = []
    public var log = Log()
    public var limits = HubLimits()
    public var websocket = WebSocket()
    /// Topic families open to subscription besides application, operation, resource and user.
    public var extraTopicFamilies: [String] = []
    /// Limits and intervals of operations (`operations.*`, `HUB_OPERATIONS_*`).
    public var operations = OperationSettings()

    public init() {}

    /// `hostname-pid-random`: unique per process, readable in `CLIENT LIST`.
    public static func defaultNodeID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "hub"
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt32.random(in: 0..<UInt32.max), radix: 36))"
    }

    public struct Server: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 8080
        /// Largest request body accepted (413 `PAYLOAD_TOO_LARGE` beyond).
        public var maxBodyBytes = 1 << 20
        /// How long a graceful shutdown waits for WebSockets to close after `reconnect`.
        public var drainSeconds = 5
        /// Connections the kernel queues before the hub accepts them (`listen`
        /// backlog; Linux caps it at `net.core.somaxconn`). A burst of connects
        /// beyond it has SYNs dropped and retried a second later.
        public var listenBacklog = 4096
        /// Event loop threads that serve HTTP and WebSocket connections; nil:
        /// one per core (NIO's shared group). Set it lower when several nodes,
        /// Redis or other busy processes share the machine's cores.
        public var eventLoopThreads: Int?
    }

    public struct Auth: Sendable, Equatable {
        /// HS256 secret (at least 32 bytes); generated into the data dir when unset.
        public var jwtSecret: String?
        /// PEM public key (RSA, EC P-256/384/521 or Ed25519) for RS256/ES256/EdDSA tokens.
        public var jwtPublicKeyFile: String?
        /// A JWKS document on disk.
        public var jwksFile: String?
        public var jwtIssuer: String?
        public var jwtAudience: String?
        /// Clock skew tolerated on `exp` and `nbf`.
        public var leewaySeconds = 30
        /// Verified tokens remembered (by their exact text) to skip re-verifying; 0 = off.
        public var tokenCacheSize = 10_000
        /// How long a verified token is remembered (its `exp` is still checked on every use).
        public var tokenCacheSeconds = 60
    }

    public struct Log: Sendable, Equatable {
        public var level = "info"
        /// `json` or `text`; `nil` = text on a terminal, json otherwise.
        public var format: String?
    }

    public struct WebSocket: Sendable, Equatable {
        /// Server pings this often; a peer that has not answered by the next ping is closed.
        public var heartbeatIntervalSeconds = 25
        /// Offer permessage-deflate to clients that ask for it.
        public var compression = false
        /// Frames below this size are sent uncompressed.
        public var compressionMinBytes = 256
    }
}
