/// The names of every Redis key and channel of a `RedisOperationStore`.
///
/// Every name starts with the hash tag `{<prefix>}`, so all of them hash to
/// one slot: the scripts may touch any of them (Redis Cluster runs a script
/// on one slot only). `<t>` is the tenant with `%` and `:` percent-encoded
/// (so a tenant can never be read as a longer or shorter one), `<id>` the
/// operation id as given.
///
/// | key | type | holds | expiry |
/// |---|---|---|---|
/// | `{P}:op:<t>:<id>` | hash | `body` (the operation's wire JSON), `version`, the indexed values `status`, `type`, `tkind`, `tid`, `team` (absent: no team), `created` (ms), `hb` (last heartbeat ms; overrides the body's), `hbto` (heartbeat timeout s, only while a deadline applies), `seq` (last log sequence), `dropped` | none |
/// | `{P}:log:<t>:<id>` | sorted set | one member per kept log line, `<seq>\t<ms>\t<text>`, score = sequence | none (deleted with the operation) |
/// | `{P}:t:<t>:all` | sorted set | every operation id of the tenant, score = created_at ms | none |
/// | `{P}:t:<t>:status:<status>`, `…:type:<type>`, `…:tkind:<kind>`, `…:tid:<target id>`, `…:team:<team>` | sorted set | the ids with that value, score = created_at ms | none |
/// | `{P}:heartbeats` | sorted set | `<tenant>\0<id>` of running operations with a heartbeat timeout, score = deadline ms | none |
/// | `{P}:finished` | sorted set | `<tenant>\0<id>` of terminal operations, score = completed_at ms | none |
/// | `{P}:refs` | sorted set | `<tenant>\0<id>` of every operation, score 0 (lexicographic: the `scan` order) | none |
/// | `{P}:idem:<t>:<caller>:<key>` | hash | `fp` (fingerprint), `at` (claimed ms), `op` (the operation's JSON as created, once completed) | the idempotency TTL, from the claim |
/// | `{P}:idem-claims` | sorted set | the names of the idempotency keys, score = claimed ms (for `purgeIdempotencyKeys`) | none (members of expired keys are removed by the purge) |
/// | `{P}:lock:<t>:<id>` | string | a random token of the node changing the operation now (`withWriteLock`) | 10 s, or deleted when the change is done |
/// | `{P}:tmp:*` | sorted set | intermediate results of one `list` script, deleted before it returns | never visible outside the script |
///
/// The caller is percent-encoded like the tenant; the client's key comes
/// last and is kept as it is. Channel `{P}:changes` carries one message per
/// committed change (see `RedisOperationChange`).
public struct RedisOperationKeys: Sendable, Hashable {
    /// `{<prefix>}`.
    public let tag: String

    /// `prefix` must not be empty nor contain `{` or `}`.
    init(prefix: String) {
        tag = "{\(prefix)}"
    }

    static func isValidPrefix(_ prefix: String) -> Bool {
        !prefix.isEmpty && !prefix.contains("{") && !prefix.contains("}")
    }

    /// The tenant (or caller) as it appears inside key names: `%` → `%25`, `:` → `%3A`.
    static func escape(_ text: String) -> String {
        guard text.contains(where: { $0 == "%" || $0 == ":" }) else { return text }
        var escaped = ""
        for character in text {
            switch character {
            case "%": escaped += "%25"
            case ":": escaped += "%3A"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    func operation(_ ref: OperationRef) -> String { "\(tag):op:\(Self.escape(ref.tenant)):\(ref.id)" }
    func writeLock(_ ref: OperationRef) -> String { "\(tag):lock:\(Self.escape(ref.tenant)):\(ref.id)" }
    func log(_ ref: OperationRef) -> String { "\(tag):log:\(Self.escape(ref.tenant)):\(ref.id)" }
    func all(tenant: String) -> String { "\(tag):t:\(Self.escape(tenant)):all" }

    /// A list index: `dimension` is one of `status`, `type`, `tkind`, `tid`, `team`.
    func index(tenant: String, _ dimension: String, _ value: String) -> String {
        "\(tag):t:\(Self.escape(tenant)):\(dimension):\(value)"
    }

    var heartbeats: String { "\(tag):heartbeats" }
    var finished: String { "\(tag):finished" }
    var refs: String { "\(tag):refs" }
    var idempotencyClaims: String { "\(tag):idem-claims" }
    var changes: String { "\(tag):changes" }

    func idempotency(_ key: IdempotencyKey) -> String {
        "\(tag):idem:\(Self.escape(key.tenant)):\(Self.escape(key.caller)):\(key.key)"
    }

    /// The member naming an operation in `heartbeats`, `finished` and `refs`:
    /// its lexicographic order is the order of (tenant, id).
    static func member(_ ref: OperationRef) -> String { "\(ref.tenant)\u{0}\(ref.id)" }

    /// The reference a `member` names, or nil when it is not one.
    static func ref(member: String) -> OperationRef? {
        guard let separator = member.firstIndex(of: "\u{0}") else { return nil }
        return OperationRef(tenant: String(member[..<separator]), id: String(member[member.index(after: separator)...]))
    }
}
