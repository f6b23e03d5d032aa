import HubTesting
import Logging
import NIOCore

@testable import Redis

/// A logger that drops everything (tests never bootstrap logging).
let testLogger = Logger(label: "redis-test") { _ in SwiftLogNoOpLogHandler() }

extension RESPValue {
    static func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }
}

/// Runs `body` and returns the RedisError it throws (nil when it does not throw).
func redisError(_ body: () async throws -> some Any) async -> RedisError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error as? RedisError
    }
}

/// Runs a `RedisClient` for `server` with test defaults while `body` runs.
func withClient<T: Sendable>(_ server: RedisServer, _ body: @Sendable (RedisClient) async throws -> T) async throws -> T {
    try await withClient(try server.configuration(), body)
}

/// Runs a `RedisClient` with `configuration` while `body` runs, then cancels it and
/// waits for `run()` to return (so no channel or task outlives the test).
func withClient<T: Sendable>(
    _ configuration: RedisConfiguration, _ body: @Sendable (RedisClient) async throws -> T
) async throws -> T {
    let client = try RedisClient(configuration: configuration, logger: testLogger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.run() }
        let result: Result<T, any Error>
        do {
            try await withTimeout(10, "the client to connect") { try await client.waitForConnection() }
            result = .success(try await body(client))
        } catch {
            result = .failure(error)
        }
        group.cancelAll()
        try await group.waitForAll()
        return try result.get()
    }
}

/// Opens one connection to `server`, runs `body`, closes it.
func withConnection<T: Sendable>(
    _ server: RedisServer, _ body: (RedisConnection) async throws -> T
) async throws -> T {
    try await withConnection(try server.configuration(), body)
}

/// Opens one connection with `configuration`, runs `body`, closes it.
func withConnection<T: Sendable>(
    _ configuration: RedisConfiguration, _ body: (RedisConnection) async throws -> T
) async throws -> T {
    let connection = try await RedisConnection.connect(configuration: configuration, logger: testLogger)
    let result: Result<T, any Error>
    do {
        result = .success(try await body(connection))
    } catch {
        result = .failure(error)
    }
    await connection.close()
    return try result.get()
}

/// Runs a subscriber (events into `recorder`) while `body` runs, then cancels it.
func withSubscriber<T: Sendable>(
    _ configuration: RedisConfiguration, healthCheckInterval: Duration? = nil, recorder: EventRecorder,
    _ body: @Sendable (RedisSubscriber) async throws -> T
) async throws -> T {
    let subscriber = try RedisSubscriber(
        configuration: configuration, healthCheckInterval: healthCheckInterval, logger: testLogger, onEvent: recorder.record)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await subscriber.run() }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(subscriber))
        } catch {
            result = .failure(error)
        }
        group.cancelAll()
        try await group.waitForAll()
        return try result.get()
    }
}
