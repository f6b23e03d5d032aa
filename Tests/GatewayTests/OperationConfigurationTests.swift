import Foundation
import Gateway
import Operations
import Testing

@Suite("Operations configuration")
struct OperationConfigurationTests {
    @Test func defaults() throws {
        let o = try HubConfiguration.load(file: nil, environment: [:]).operations
        #expect(o == OperationSettings())
        #expect(o.retentionSeconds == 7 * 86_400)
        #expect(o.maxWaitSeconds == 60)
        #expect(o.idempotencyKeyTTLSeconds == 86_400)
        #expect(o.defaultHeartbeatTimeoutSeconds == nil)
        #expect(o.writeLockTTLSeconds == 10)
        #expect(o.writeLockWaitSeconds == 10)
    }

    @Test func yamlThenEnvironment() throws {
        let path = NSTemporaryDirectory() + "hub-ops-\(UUID().uuidString).yaml"
        try """
            operations:
              retention: 12h
              log_lines_per_operation: 500
              max_log_line_bytes: 100
              max_body_bytes: 4096
              max_wait_seconds: 30
              default_page_size: 10
              max_page_size: 20
              max_log_page_size: 50
              poll_interval_seconds: 5
              default_heartbeat_timeout_seconds: 120
              heartbeat_check_interval_seconds: 2
              retention_sweep_interval_seconds: 300
              idempotency_key_ttl: 3600
              follow_keepalive_seconds: 7
              cache_size: 123
              write_lock_ttl_seconds: 20
              write_lock_wait_seconds: 3
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let yaml = try HubConfiguration.load(file: path, environment: [:]).operations
        #expect(yaml.retentionSeconds == 43_200)
        #expect(yaml.logLinesPerOperation == 500)
        #expect(yaml.maxLogLineBytes == 100)
        #expect(yaml.maxBodyBytes == 4096)
        #expect(yaml.maxWaitSeconds == 30)
        #expect(yaml.defaultPageSize == 10)
        #expect(yaml.maxPageSize == 20)
        #expect(yaml.maxLogPageSize == 50)
        #expect(yaml.pollIntervalSeconds == 5)
        #expect(yaml.defaultHeartbeatTimeoutSeconds == 120)
        #expect(yaml.heartbeatCheckIntervalSeconds == 2)
        #expect(yaml.retentionSweepIntervalSeconds == 300)
        #expect(yaml.idempotencyKeyTTLSeconds == 3600)
        #expect(yaml.followKeepAliveSeconds == 7)
        #expect(yaml.cacheSize == 123)
        #expect(yaml.writeLockTTLSeconds == 20)
        #expect(yaml.writeLockWaitSeconds == 3)
        let env = try HubConfiguration.load(
            file: path,
            environment: [
                "HUB_OPERATIONS_RETENTION": "3d", "HUB_OPERATIONS_LOG_LINES": "42", "HUB_OPERATIONS_MAX_WAIT_SECONDS": "5",
                "HUB_OPERATIONS_MAX_PAGE_SIZE": "11", "HUB_OPERATIONS_HEARTBEAT_TIMEOUT_SECONDS": "0",
                "HUB_OPERATIONS_IDEMPOTENCY_TTL": "90m", "HUB_OPERATIONS_MAX_BODY_BYTES": "999", "HUB_OPERATIONS_CACHE_SIZE": "0",
                "HUB_OPERATIONS_WRITE_LOCK_TTL_SECONDS": "30", "HUB_OPERATIONS_WRITE_LOCK_WAIT_SECONDS": "0",
            ]
        ).operations
        #expect(env.retentionSeconds == 3 * 86_400)
        #expect(env.logLinesPerOperation == 42)
        #expect(env.maxWaitSeconds == 5)
        #expect(env.maxPageSize == 11)
        #expect(env.defaultHeartbeatTimeoutSeconds == nil)
        #expect(env.idempotencyKeyTTLSeconds == 5400)
        #expect(env.maxBodyBytes == 999)
        #expect(env.maxLogLineBytes == 100)
        #expect(env.cacheSize == 0)
        #expect(env.writeLockTTLSeconds == 30)
        #expect(env.writeLockWaitSeconds == 0, "0: a change never waits for another node")
    }

    @Test(arguments: [
        ["HUB_OPERATIONS_RETENTION": "soon"], ["HUB_OPERATIONS_RETENTION": "0"], ["HUB_OPERATIONS_LOG_LINES": "0"],
        ["HUB_OPERATIONS_MAX_WAIT_SECONDS": "x"], ["HUB_OPERATIONS_MAX_PAGE_SIZE": "10"],
        ["HUB_OPERATIONS_HEARTBEAT_TIMEOUT_SECONDS": "100000"], ["HUB_OPERATIONS_MAX_BODY_BYTES": "0"],
        ["HUB_OPERATIONS_CACHE_SIZE": "-1"], ["HUB_OPERATIONS_WRITE_LOCK_TTL_SECONDS": "0"],
        ["HUB_OPERATIONS_WRITE_LOCK_WAIT_SECONDS": "-1"],
    ])
    func badValuesAreRefused(environment: [String: String]) {
        #expect(throws: ConfigurationError.self) { try HubConfiguration.load(file: nil, environment: environment) }
    }
}
