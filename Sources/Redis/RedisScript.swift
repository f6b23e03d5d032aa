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
