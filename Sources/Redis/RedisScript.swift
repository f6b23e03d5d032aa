/// A Lua script, named by the SHA-1 of its source as Redis names it.
///
/// Call it with ``RedisClient/evaluate(_:keys:arguments:)``: it is sent as
/// `EVALSHA`, and when Redis does not know it (`NOSCRIPT`, e.g. after a
/// restart or `SCRIPT FLUSH` emptied the script cache) it is sent once more
/// as `EVAL`, which also caches it again. The caller does not see the
/// difference. Keys go in `keys` (Redis Cluster routes by them); everything
/// else in `arguments`.
public struct RedisScript: Sendable, Hashable {
    public let source: String
    /// The lowercase hex SHA-1 of `source`, as `SCRIPT LOAD` returns it.
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        sha1 = SHA1.hexDigest(of: source.utf8)
    }
}

extension RedisScript {
    /// Deletes `KEYS[1]` only while it holds `ARGV[1]` (the holder's token of
    /// a lease or lock); answers 1 when it deleted it, else 0.
    public static let deleteIfEqual = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)
}
