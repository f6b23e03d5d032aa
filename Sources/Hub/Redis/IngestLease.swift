import Redis

/// The lease that makes one node at a time the reader of `hub:ingest`.
///
/// A consumer group hands entries to consumers in parallel, and parallel
/// consumers publish a topic's entries out of order (node A publishes entry 2
/// while node B still holds entry 1). Backends write consecutive states of
/// one entity to the stream ("deploying", then "running"), so order matters
/// more than spreading the work: every publish is one script on the same
/// Redis anyway. The leader holds the key `KEYS[1]` (value: its consumer
/// name, with a TTL) and renews it before every read; the others try to take
/// it every `standbyPoll`. A leader that dies stops renewing; the next one
/// takes over once the key expires and first claims every pending entry, in
/// stream order, before it reads new ones.
struct IngestLease: Sendable {
    enum Standing: Equatable, Sendable {
        /// Another consumer holds the lease.
        case standby
        /// This consumer held it and renewed it.
        case renewed
        /// This consumer has just taken it: pending entries of the previous leader come first.
        case acquired
    }

    let key: String
    let holder: String
    let duration: Duration

    /// Renews the lease when this consumer holds it, takes it when nobody does.
    func claim(on client: RedisClient) async throws(RedisError) -> Standing {
        let reply = try await client.evaluate(
            Self.claimScript, keys: [.string(key)], arguments: [.string(holder), .integer(duration.milliseconds(atLeast: 1))])
        switch reply.integer {
        case 1: return .renewed
        case 2: return .acquired
        default: return .standby
        }
    }

    /// Gives the lease up (when this consumer holds it), so another node takes over at once.
    func release(on client: RedisClient) async {
        _ = try? await client.evaluate(.deleteIfEqual, keys: [.string(key)], arguments: [.string(holder)])
    }

    /// `KEYS[1]` lease key; `ARGV[1]` holder, `ARGV[2]` TTL in ms. 1 renewed, 2 acquired, 0 held by another.
    static let claimScript = RedisScript(
        """
        local holder = redis.call('GET', KEYS[1])
        if holder == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        if not holder then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return 2
        end
        return 0
        """)
}
