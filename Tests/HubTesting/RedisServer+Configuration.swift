import Redis

extension RedisServer {
    /// A client configuration for this server with short, test-friendly
    /// timeouts and backoff; `configure` changes it further.
    public func configuration(_ configure: (inout RedisConfiguration) -> Void = { _ in }) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: url)
        configuration.connectTimeout = .seconds(5)
        configuration.commandTimeout = .seconds(10)
        configuration.reconnectBackoff = RedisBackoff(base: .milliseconds(20), maximum: .milliseconds(200))
        configure(&configuration)
        return configuration
    }
}
