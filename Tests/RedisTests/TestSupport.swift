import HubTesting
import Logging
import NIOCore

@testable import Redis

/// A logger that drops everything (tests never bootstrap logging).
let testLogger = Logger(label: "redis-test") { _ in SwiftLogNoOpLogHandler() }

extension RedisServer {
    /// A configuration for this server with short, test-friendly timeouts.
    func configuration(_ configure: (inout RedisConfiguration) -> Void = { _ in }) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: url)
        configuration.connectTimeout = .seconds(5)
        configuration.commandTimeout = .seconds(10)
        configuration.reconnectBackoff = RedisBackoff(base: .milliseconds(20), maximum: .milliseconds(200))
        configure(&configuration)
        return configuration
    }
}

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
