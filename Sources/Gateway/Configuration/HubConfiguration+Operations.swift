import Foundation
import Operations

/// The `operations:` section of the YAML file.
struct FileOperationsConfiguration: Decodable {
    var retention: ConfiguredDuration?
    var log_lines_per_operation: Int?
    var max_log_line_bytes: Int?
    var max_body_bytes: Int?
    var max_wait_seconds: Int?
    var default_page_size: Int?
    var max_page_size: Int?
    var max_log_page_size: Int?
    var poll_interval_seconds: Int?
    var default_heartbeat_timeout_seconds: Int?
    var heartbeat_check_interval_seconds: Int?
    var retention_sweep_interval_seconds: Int?
    var idempotency_key_ttl: ConfiguredDuration?
    var follow_keepalive_seconds: Int?
    var cache_size: Int?
    var park_long_polls: Bool?
    var write_lock_ttl_seconds: Int?
    var write_lock_wait_seconds: Int?

    func apply(to o: inout OperationSettings) {
        if let v = retention { o.retentionSeconds = v.seconds }
        if let v = log_lines_per_operation { o.logLinesPerOperation = v }
        if let v = max_log_line_bytes { o.maxLogLineBytes = v }
        if let v = max_body_bytes { o.maxBodyBytes = v }
        if let v = max_wait_seconds { o.maxWaitSeconds = v }
        if let v = default_page_size { o.defaultPageSize = v }
        if let v = max_page_size { o.maxPageSize = v }
        if let v = max_log_page_size { o.maxLogPageSize = v }
        if let v = poll_interval_seconds { o.pollIntervalSeconds = v }
        if let v = default_heartbeat_timeout_seconds { o.defaultHeartbeatTimeoutSeconds = v == 0 ? nil : v }
        if let v = heartbeat_check_interval_seconds { o.heartbeatCheckIntervalSeconds = v }
        if let v = retention_sweep_interval_seconds { o.retentionSweepIntervalSeconds = v }
        if let v = idempotency_key_ttl { o.idempotencyKeyTTLSeconds = v.seconds }
        if let v = follow_keepalive_seconds { o.followKeepAliveSeconds = v }
        if let v = cache_size { o.cacheSize = v }
        if let v = park_long_polls { o.parkLongPolls = v }
        if let v = write_lock_ttl_seconds { o.writeLockTTLSeconds = v }
        if let v = write_lock_wait_seconds { o.writeLockWaitSeconds = v }
    }
}

/// A duration written as seconds (`3600`) or with a unit (`90s`, `30m`, `12h`, `7d`).
struct ConfiguredDuration: Decodable, Equatable {
    var seconds: Int

    init(seconds: Int) { self.seconds = seconds }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) {
            seconds = value
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = ConfiguredDuration(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a duration: 3600, 90s, 30m, 12h or 7d")
        }
        self = parsed
    }

    init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let value = Int(trimmed) {
            seconds = value
            return
        }
        guard let unit = trimmed.last, let value = Int(trimmed.dropLast()) else { return nil }
        switch unit {
        case "s": seconds = value
        case "m": seconds = value * 60
        case "h": seconds = value * 3600
        case "d": seconds = value * 86_400
        default: return nil
        }
    }
}

extension HubConfiguration {
    /// Applies the `HUB_OPERATIONS_*` variables (Docs/configuration.md).
    mutating func applyOperations(environment env: [String: String]) throws {
        func int(_ name: String) throws -> Int? {
            guard let text = env[name] else { return nil }
            guard let value = Int(text) else { throw ConfigurationError("\(name) must be an integer, got '\(text)'") }
            return value
        }
        func duration(_ name: String) throws -> Int? {
            guard let text = env[name] else { return nil }
            guard let value = ConfiguredDuration(text) else {
                throw ConfigurationError("\(name) must be a duration like 3600, 90s, 30m, 12h or 7d, got '\(text)'")
            }
            return value.seconds
        }
        if let v = try duration("HUB_OPERATIONS_RETENTION") { operations.retentionSeconds = v }
        if let v = try int("HUB_OPERATIONS_LOG_LINES") { operations.logLinesPerOperation = v }
        if let v = try int("HUB_OPERATIONS_MAX_LOG_LINE_BYTES") { operations.maxLogLineBytes = v }
        if let v = try int("HUB_OPERATIONS_MAX_BODY_BYTES") { operations.maxBodyBytes = v }
        if let v = try int("HUB_OPERATIONS_MAX_WAIT_SECONDS") { operations.maxWaitSeconds = v }
        if let v = try int("HUB_OPERATIONS_DEFAULT_PAGE_SIZE") { operations.defaultPageSize = v }
        if let v = try int("HUB_OPERATIONS_MAX_PAGE_SIZE") { operations.maxPageSize = v }
        if let v = try int("HUB_OPERATIONS_MAX_LOG_PAGE_SIZE") { operations.maxLogPageSize = v }
        if let v = try int("HUB_OPERATIONS_POLL_INTERVAL_SECONDS") { operations.pollIntervalSeconds = v }
        if let v = try int("HUB_OPERATIONS_HEARTBEAT_TIMEOUT_SECONDS") { operations.defaultHeartbeatTimeoutSeconds = v == 0 ? nil : v }
        if let v = try int("HUB_OPERATIONS_HEARTBEAT_CHECK_SECONDS") { operations.heartbeatCheckIntervalSeconds = v }
        if let v = try int("HUB_OPERATIONS_RETENTION_SWEEP_SECONDS") { operations.retentionSweepIntervalSeconds = v }
        if let v = try duration("HUB_OPERATIONS_IDEMPOTENCY_TTL") { operations.idempotencyKeyTTLSeconds = v }
        if let v = try int("HUB_OPERATIONS_FOLLOW_KEEPALIVE_SECONDS") { operations.followKeepAliveSeconds = v }
        if let v = try int("HUB_OPERATIONS_CACHE_SIZE") { operations.cacheSize = v }
        if let v = try int("HUB_OPERATIONS_WRITE_LOCK_TTL_SECONDS") { operations.writeLockTTLSeconds = v }
        if let v = try int("HUB_OPERATIONS_WRITE_LOCK_WAIT_SECONDS") { operations.writeLockWaitSeconds = v }
        if let text = env["HUB_OPERATIONS_PARK_LONG_POLLS"]?.lowercased() {
            switch text {
            case "1", "true", "yes", "on": operations.parkLongPolls = true
            case "0", "false", "no", "off": operations.parkLongPolls = false
            default: throw ConfigurationError("HUB_OPERATIONS_PARK_LONG_POLLS must be true or false, got '\(text)'")
            }
        }
    }

    /// Refuses operations settings that cannot work.
    func validateOperations() throws {
        let o = operations
        func atLeast(_ minimum: Int, _ value: Int, _ name: String) throws {
            if value < minimum { throw ConfigurationError("operations.\(name) must be at least \(minimum), got \(value)") }
        }
        try atLeast(1, o.retentionSeconds, "retention")
        try atLeast(1, o.logLinesPerOperation, "log_lines_per_operation")
        try atLeast(1, o.maxLogLineBytes, "max_log_line_bytes")
        try atLeast(1, o.maxBodyBytes, "max_body_bytes")
        try atLeast(0, o.maxWaitSeconds, "max_wait_seconds")
        try atLeast(1, o.defaultPageSize, "default_page_size")
        try atLeast(o.defaultPageSize, o.maxPageSize, "max_page_size")
        try atLeast(1, o.maxLogPageSize, "max_log_page_size")
        try atLeast(0, o.pollIntervalSeconds, "poll_interval_seconds")
        try atLeast(1, o.heartbeatCheckIntervalSeconds, "heartbeat_check_interval_seconds")
        try atLeast(1, o.retentionSweepIntervalSeconds, "retention_sweep_interval_seconds")
        try atLeast(1, o.idempotencyKeyTTLSeconds, "idempotency_key_ttl")
        try atLeast(1, o.followKeepAliveSeconds, "follow_keepalive_seconds")
        try atLeast(0, o.cacheSize, "cache_size")
        try atLeast(1, o.writeLockTTLSeconds, "write_lock_ttl_seconds")
        try atLeast(0, o.writeLockWaitSeconds, "write_lock_wait_seconds")
        if let timeout = o.defaultHeartbeatTimeoutSeconds, !(1...OperationLimits.maxHeartbeatTimeoutSeconds).contains(timeout) {
            throw ConfigurationError("operations.default_heartbeat_timeout_seconds must be 0 (none) or 1–\(OperationLimits.maxHeartbeatTimeoutSeconds)")
        }
    }
}
