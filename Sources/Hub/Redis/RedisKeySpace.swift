import Protocol

/// The names of every Redis key and pub/sub channel the Redis event bus uses.
///
/// With the default prefix `hub`, for tenant `acme` and topic
/// `application:app_1:status`:
///
/// | name | type | what |
/// |---|---|---|
/// | `hub:{acme}:history:application:app_1:status` | stream | the topic's history: one entry per event, field `e` = the stored event (``RedisEventCodec``), trimmed with `MAXLEN ~ historyLength` |
/// | `hub:{acme}:topic:application:app_1:status` | hash | `epoch` (the history epoch, `r…`), `created` (`1` once the stream was created in this epoch, `0` for a placeholder written when a node subscribed before any event), `last` (the last-value cache: `<offset> <stored event>`) |
/// | `hub:{acme}:entity:application:app_1` | string | the entity directory: `team:<team_id>`, or `none` for an entity known without a team |
/// | `hub:{acme}:events:application:app_1:status` | channel | live events: `<offset> <stored event>` |
/// | `hub:{acme}:events:application:*:status` | channel pattern | what a node `PSUBSCRIBE`s for a wildcard subscription (a glob: `*` also matches `:`, so it over-approximates; the subscription index filters exactly) |
/// | `hub:{*}:events:operation:*:progress` | channel pattern | an observer of a topic family in every tenant |
///
/// The tenant is the hash tag (`{…}`), so that every key of a tenant maps to
/// one Redis Cluster slot and a publish script may touch them together.
/// Tenants are written with every byte outside `[A-Za-z0-9_.-]` percent-encoded
/// (`%7B` for `{`): a tenant can neither end the hash tag early, nor add a
/// `:` segment, nor inject a glob character into a pattern. Topic segments
/// are already restricted to `[A-Za-z0-9_.-]` (and `*` in patterns).
public struct RedisKeySpace: Sendable, Hashable {
    /// The first segment of every name. Default `hub`.
    public let prefix: String

    /// `prefix` must be 1–64 bytes of `[A-Za-z0-9_.:-]` (no glob or hash-tag characters).
    public init(prefix: String = "hub") throws(HubError) {
        let bytes = prefix.utf8
        guard !bytes.isEmpty, bytes.count <= 64, bytes.allSatisfy({ Self.isPlain($0) || $0 == UInt8(ascii: ":") }) else {
            throw HubError.validation("the Redis key prefix must be 1–64 characters of A-Z a-z 0-9 _ . - :")
        }
        self.prefix = prefix
    }

    /// The stream holding the topic's history.
    public func stream(_ key: TopicKey) -> String {
        "\(prefix):{\(Self.encodeTenant(key.tenant))}:history:\(key.topic.rawValue)"
    }

    /// The hash with the topic's epoch and last event.
    public func meta(_ key: TopicKey) -> String {
        "\(prefix):{\(Self.encodeTenant(key.tenant))}:topic:\(key.topic.rawValue)"
    }

    /// The entity directory entry of an entity of a tenant.
    public func entity(_ ref: EntityRef, tenant: String) -> String {
        "\(prefix):{\(Self.encodeTenant(tenant))}:entity:\(ref.family):\(ref.id)"
    }

    /// The channel of a concrete topic.
    public func channel(_ key: TopicKey) -> String {
        "\(prefix):{\(Self.encodeTenant(key.tenant))}:events:\(key.topic.rawValue)"
    }

    /// The glob a node subscribes to for a wildcard key: every `*` segment of
    /// the topic stays a `*`. Nothing else in the name is a glob character.
    public func pattern(_ key: TopicKey) -> String {
        "\(prefix):{\(Self.encodeTenant(key.tenant))}:events:\(key.topic.rawValue)"
    }

    /// The glob of an observer: `topic` (concrete or a pattern) in every tenant.
    public func observerPattern(_ topic: Topic) -> String {
        "\(prefix):{*}:events:\(topic.rawValue)"
    }

    /// The tenant as it appears inside the hash tag.
    public static func encodeTenant(_ tenant: String) -> String {
        let bytes = tenant.utf8
        if !bytes.isEmpty, bytes.allSatisfy(isPlain) { return tenant }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3)
        for byte in bytes {
            if isPlain(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        // An empty tenant would make `{}`, which Redis Cluster ignores as a hash tag.
        return out.isEmpty ? "%" : String(decoding: out, as: UTF8.self)
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            true
        default: false
        }
    }
}
