import Protocol

/// A topic within a tenant: the key of every per-topic structure. Topics are
/// always keyed by tenant, so no lookup can cross tenants.
public struct TopicKey: Hashable, Sendable, CustomStringConvertible {
    public let tenant: String
    public let topic: Topic

    public init(tenant: String, topic: Topic) {
        self.tenant = tenant
        self.topic = topic
    }

    public var description: String { "\(tenant)/\(topic.rawValue)" }
}
