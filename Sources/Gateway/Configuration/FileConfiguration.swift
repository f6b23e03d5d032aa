import Hub

/// The YAML file's shape: every key optional, snake_case.
struct FileConfiguration: Decodable {
    struct Server: Decodable {
        var host: String?
        var port: Int?
        var max_body_bytes: Int?
        var drain_seconds: Int?
        var listen_backlog: Int?
        var event_loop_threads: Int?
    }

    struct Auth: Decodable {
        var jwt_secret: String?
        var jwt_public_key_file: String?
        var jwks_file: String?
        var issuer: String?
        var audience: String?
        var leeway_seconds: Int?
        var token_cache_size: Int?
        var token_cache_seconds: Int?
    }

    struct Log: Decodable {
        var level: String?
        var format: String?
    }

    struct Limits: Decodable {
        var max_message_bytes: Int?
        var max_subscriptions_per_connection: Int?
        var max_frames_per_second: Int?
        var max_invalid_frames: Int?
        var send_queue_length: Int?
        var history_length: Int?
        var max_connections_per_user: Int?
        var max_batch_events: Int?
    }

    struct WebSocket: Decodable {
        var heartbeat_interval_seconds: Int?
        var compression: Bool?
        var compression_min_bytes: Int?
    }

    var server: Server?
    var data_dir: String?
    var redis_url: String?
    var redis_pool_size: Int?
    var topic_ttl: ConfiguredDuration?
    var ingest_trim: Bool?
    var node_id: String?
    var auth: Auth?
    var allowed_origins: [String]?
    var log: Log?
    var limits: Limits?
    var websocket: WebSocket?
    var topic_families: [String]?
    var operations: FileOperationsConfiguration?

    func apply(to c: inout HubConfiguration) {
        if let s = server {
            if let v = s.host { c.server.host = v }
            if let v = s.port { c.server.port = v }
            if let v = s.max_body_bytes { c.server.maxBodyBytes = v }
            if let v = s.drain_seconds { c.server.drainSeconds = v }
            if let v = s.listen_backlog { c.server.listenBacklog = v }
            if let v = s.event_loop_threads { c.server.eventLoopThreads = v }
        }
        if let v = data_dir { c.dataDir = v }
        if let v = redis_url { c.redisURL = v }
        if let v = redis_pool_size { c.redisPoolSize = v }
        if let v = topic_ttl { c.topicTTLSeconds = v.seconds == 0 ? nil : v.seconds }
        if let v = ingest_trim { c.ingestTrim = v }
        if let v = node_id { c.nodeID = v }
        if let a = auth {
            if let v = a.jwt_secret { c.auth.jwtSecret = v }
            if let v = a.jwt_public_key_file { c.auth.jwtPublicKeyFile = v }
            if let v = a.jwks_file { c.auth.jwksFile = v }
            if let v = a.issuer { c.auth.jwtIssuer = v }
            if let v = a.audience { c.auth.jwtAudience = v }
            if let v = a.leeway_seconds { c.auth.leewaySeconds = v }
            if let v = a.token_cache_size { c.auth.tokenCacheSize = v }
            if let v = a.token_cache_seconds { c.auth.tokenCacheSeconds = v }
        }
        if let v = allowed_origins { c.allowedOrigins = v }
        if let l = log {
            if let v = l.level { c.log.level = v }
            if let v = l.format { c.log.format = v }
        }
        if let l = limits {
            if let v = l.max_message_bytes { c.limits.maxMessageBytes = v }
            if let v = l.max_subscriptions_per_connection { c.limits.maxSubscriptionsPerConnection = v }
            if let v = l.max_frames_per_second { c.limits.maxFramesPerSecond = v }
            if let v = l.max_invalid_frames { c.limits.maxInvalidFrames = v }
            if let v = l.send_queue_length { c.limits.sendQueueLength = v }
            if let v = l.history_length { c.limits.historyLength = v }
            if let v = l.max_connections_per_user { c.limits.maxConnectionsPerUser = v }
            if let v = l.max_batch_events { c.limits.maxBatchEvents = v }
        }
        if let w = websocket {
            if let v = w.heartbeat_interval_seconds { c.websocket.heartbeatIntervalSeconds = v }
            if let v = w.compression { c.websocket.compression = v }
            if let v = w.compression_min_bytes { c.websocket.compressionMinBytes = v }
        }
        if let v = topic_families { c.extraTopicFamilies = v }
        operations?.apply(to: &c.operations)
    }
}
