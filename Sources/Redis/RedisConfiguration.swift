import NIOSSL

/// How to reach one Redis server and how to behave towards it. Every field
/// has a default; ``init(url:)`` fills the address, credentials, database and
/// TLS from a `redis://` or `rediss://` URL.
public struct RedisConfiguration: Sendable {
    /// Host name or IP address. Default `127.0.0.1`.
    public var host: String
    /// Default 6379.
    public var port: Int
    /// The ACL user for `AUTH user password`; nil sends `AUTH password`.
    public var username: String?
    /// Sent with `AUTH` on every new connection; nil sends no `AUTH`.
    public var password: String?
    /// Selected with `SELECT` on every new connection when not 0. Default 0.
    public var database: Int
    /// TLS settings; nil (the default) connects in plain TCP.
    public var tls: TLSConfiguration?
    /// The name sent in SNI and checked against the certificate. Default: the
    /// host when it is a name; for an IP address no SNI is sent and the
    /// certificate must name the IP.
    public var tlsServerName: String?
    /// Set with `CLIENT SETNAME` on every new connection (shows in `CLIENT LIST`).
    public var clientName: String?
    /// Limit for TCP connect, TLS handshake and the `AUTH`/`SELECT` handshake
    /// together. Default 5 s.
    public var connectTimeout: Duration
    /// How long a command may wait for its reply; nil waits without limit.
    /// A command that times out fails with ``RedisError/Code/timeout`` and its
    /// connection is closed (and, in a client, reconnected). Default 10 s.
    public var commandTimeout: Duration?
    /// What the client accepts from the server.
    public var replyLimits: RedisReplyLimits
    /// Connections a ``RedisClient`` keeps open. Default 4; at least 1.
    public var poolSize: Int
    /// Delays between reconnect attempts of a ``RedisClient`` or ``RedisSubscriber``.
    public var reconnectBackoff: RedisBackoff

    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        tls: TLSConfiguration? = nil,
        tlsServerName: String? = nil,
        clientName: String? = nil,
        connectTimeout: Duration = .seconds(5),
        commandTimeout: Duration? = .seconds(10),
        replyLimits: RedisReplyLimits = RedisReplyLimits(),
        poolSize: Int = 4,
        reconnectBackoff: RedisBackoff = RedisBackoff()
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.tlsServerName = tlsServerName
        self.clientName = clientName
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.replyLimits = replyLimits
        self.poolSize = poolSize
        self.reconnectBackoff = reconnectBackoff
    }

    /// Checks the ranges of the numeric fields.
    func validated() throws(RedisError) -> RedisConfiguration {
        guard (1...65535).contains(port) else { throw RedisError(.invalidConfiguration, "port \(port) is out of range") }
        guard database >= 0 else { throw RedisError(.invalidConfiguration, "database \(database) is negative") }
        guard poolSize >= 1 else { throw RedisError(.invalidConfiguration, "poolSize must be at least 1") }
        guard connectTimeout > .zero else { throw RedisError(.invalidConfiguration, "connectTimeout must be positive") }
        if let commandTimeout, commandTimeout <= .zero {
            throw RedisError(.invalidConfiguration, "commandTimeout must be positive")
        }
        return self
    }
}

extension RedisConfiguration: CustomStringConvertible {
    /// The address as a URL, with the password masked.
    public var description: String {
        var userInfo = ""
        if let password {
            userInfo = (username ?? "") + (password.isEmpty ? ":@" : ":***@")
        } else if let username {
            userInfo = username + "@"
        }
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return "\(tls == nil ? "redis" : "rediss")://\(userInfo)\(bracketed):\(port)/\(database)"
    }
}
