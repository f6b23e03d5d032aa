import Foundation
import Redis
import Hub
import Yams

/// A configuration problem, reported before the server starts.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension HubConfiguration {
    /// Defaults, then the YAML file (if any), then `HUB_*` environment variables.
    public static func load(file: String?, environment: [String: String]) throws -> HubConfiguration {
        var configuration = HubConfiguration()
        let path = file ?? (FileManager.default.fileExists(atPath: "hub.yaml") ? "hub.yaml" : nil)
        if let path {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationError("cannot read configuration file \(path)")
            }
            try configuration.apply(yaml: text)
        }
        try configuration.apply(environment: environment)
        try configuration.validate()
        return configuration
    }

    /// Applies a YAML document whose keys mirror `Docs/configuration.md`.
    public mutating func apply(yaml text: String) throws {
        let file: FileConfiguration
        do {
            file = try YAMLDecoder().decode(FileConfiguration.self, from: text)
        } catch {
            throw ConfigurationError("invalid configuration file: \(error)")
        }
        file.apply(to: &self)
    }

    /// Applies `HUB_*` variables (see `Docs/configuration.md` for the list).
    public mutating func apply(environment env: [String: String]) throws {
        func int(_ name: String) throws -> Int? {
            guard let text = env[name] else { return nil }
            guard let value = Int(text) else { throw ConfigurationError("\(name) must be an integer, got '\(text)'") }
            return value
        }
        func bool(_ name: String) throws -> Bool? {
            guard let text = env[name]?.lowercased() else { return nil }
            switch text {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default: throw ConfigurationError("\(name) must be true or false, got '\(text)'")
            }
        }
        if let v = env["HUB_HOST"] { server.host = v }
        if let v = try int("HUB_PORT") { server.port = v }
        if let v = try int("HUB_MAX_BODY_BYTES") { server.maxBodyBytes = v }
        if let v = try int("HUB_DRAIN_SECONDS") { server.drainSeconds = v }
        if let v = try int("HUB_LISTEN_BACKLOG") { server.listenBacklog = v }
        if let v = try int("HUB_EVENT_LOOP_THREADS") { server.eventLoopThreads = v }
        if let v = env["HUB_DATA_DIR"] { dataDir = v }
        if let v = env["HUB_REDIS_URL"], !v.isEmpty { redisURL = v }
        if let v = try int("HUB_REDIS_POOL_SIZE") { redisPoolSize = v }
        if let text = env["HUB_TOPIC_TTL"] {
            guard let value = ConfiguredDuration(text) else {
                throw ConfigurationError("HUB_TOPIC_TTL must be a duration like 3600, 90s, 30m, 12h or 7d, got '\(text)'")
            }
            topicTTLSeconds = value.seconds == 0 ? nil : value.seconds
        }
        if let v = try bool("HUB_INGEST_TRIM") { ingestTrim = v }
        if let v = env["HUB_NODE_ID"], !v.isEmpty { nodeID = v }
        if let v = env["HUB_JWT_SECRET"], !v.isEmpty { auth.jwtSecret = v }
        if let v = env["HUB_JWT_PUBLIC_KEY_FILE"], !v.isEmpty { auth.jwtPublicKeyFile = v }
        if let v = env["HUB_JWKS_FILE"], !v.isEmpty { auth.jwksFile = v }
        if let v = env["HUB_JWT_ISSUER"], !v.isEmpty { auth.jwtIssuer = v }
        if let v = env["HUB_JWT_AUDIENCE"], !v.isEmpty { auth.jwtAudience = v }
        if let v = try int("HUB_JWT_LEEWAY_SECONDS") { auth.leewaySeconds = v }
        if let v = try int("HUB_TOKEN_CACHE_SIZE") { auth.tokenCacheSize = v }
        if let v = try int("HUB_TOKEN_CACHE_SECONDS") { auth.tokenCacheSeconds = v }
        if let v = env["HUB_ALLOWED_ORIGINS"] {
            allowedOrigins = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let v = env["HUB_LOG_LEVEL"] { log.level = v }
        if let v = env["HUB_LOG_FORMAT"] { log.format = v }
        if let v = try int("HUB_MAX_MESSAGE_BYTES") { limits.maxMessageBytes = v }
        if let v = try int("HUB_MAX_SUBSCRIPTIONS_PER_CONNECTION") { limits.maxSubscriptionsPerConnection = v }
        if let v = try int("HUB_MAX_FRAMES_PER_SECOND") { limits.maxFramesPerSecond = v }
        if let v = try int("HUB_MAX_INVALID_FRAMES") { limits.maxInvalidFrames = v }
        if let v = try int("HUB_SEND_QUEUE_LENGTH") { limits.sendQueueLength = v }
        if let v = try int("HUB_HISTORY_LENGTH") { limits.historyLength = v }
        if let v = try int("HUB_MAX_CONNECTIONS_PER_USER") { limits.maxConnectionsPerUser = v }
        if let v = try int("HUB_MAX_BATCH_EVENTS") { limits.maxBatchEvents = v }
        if let v = try int("HUB_HEARTBEAT_INTERVAL_SECONDS") { websocket.heartbeatIntervalSeconds = v }
        if let v = try bool("HUB_WS_COMPRESSION") { websocket.compression = v }
        if let v = env["HUB_TOPIC_FAMILIES"] {
            extraTopicFamilies = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        try applyOperations(environment: env)
    }

    /// Refuses values that cannot work, with a message naming the setting.
    public func validate() throws {
        func positive(_ value: Int, _ name: String) throws {
            if value < 1 { throw ConfigurationError("\(name) must be at least 1, got \(value)") }
        }
        guard (0...65535).contains(server.port) else { throw ConfigurationError("port must be 0–65535") }
        try positive(server.maxBodyBytes, "max_body_bytes")
        try positive(server.listenBacklog, "server.listen_backlog")
        if let threads = server.eventLoopThreads, !(1...1024).contains(threads) {
            throw ConfigurationError("server.event_loop_threads must be 1–1024, got \(threads)")
        }
        try positive(auth.tokenCacheSeconds, "auth.token_cache_seconds")
        if auth.tokenCacheSize < 0 { throw ConfigurationError("auth.token_cache_size must be 0 (off) or more, got \(auth.tokenCacheSize)") }
        try positive(limits.maxMessageBytes, "limits.max_message_bytes")
        try positive(limits.maxSubscriptionsPerConnection, "limits.max_subscriptions_per_connection")
        try positive(limits.maxFramesPerSecond, "limits.max_frames_per_second")
        try positive(limits.maxInvalidFrames, "limits.max_invalid_frames")
        try positive(limits.sendQueueLength, "limits.send_queue_length")
        try positive(limits.historyLength, "limits.history_length")
        try positive(limits.maxConnectionsPerUser, "limits.max_connections_per_user")
        try positive(limits.maxBatchEvents, "limits.max_batch_events")
        try positive(websocket.heartbeatIntervalSeconds, "websocket.heartbeat_interval_seconds")
        if let secret = auth.jwtSecret, secret.utf8.count < 32 {
            throw ConfigurationError("HUB_JWT_SECRET must be at least 32 bytes (HS256 needs a key as long as its hash)")
        }
        if let format = log.format, format != "json", format != "text" {
            throw ConfigurationError("log format must be json or text, got '\(format)'")
        }
        try validateOperations()
        if let redisURL {
            do {
                _ = try RedisConfiguration(url: redisURL)
            } catch {
                throw ConfigurationError("HUB_REDIS_URL is not a Redis URL: \(error.message)")
            }
        }
        try positive(redisPoolSize, "redis_pool_size")
        if let ttl = topicTTLSeconds, ttl < 1 { throw ConfigurationError("topic_ttl must be 0 (none) or positive, got \(ttl)") }
        guard !nodeID.isEmpty, nodeID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw ConfigurationError("node_id must be visible ASCII without spaces, got '\(nodeID)'")
        }
    }
}
