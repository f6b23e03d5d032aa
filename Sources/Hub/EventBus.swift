import Protocol

/// Where events travel between publishers and the Distributors of every node:
/// in process (`LocalEventBus`) or through Redis (`RedisEventBus`).
///
/// Contract, which every implementation is tested against:
/// - `publish` gives each event an offset that increases per topic within the
///   bus's epoch, appends it to the topic's history, updates the last-value
///   cache and the entity directory (when the event names a team), and hands it
///   to the Distributor of every node. For one topic, Distributors see events
///   in offset order. `publish` returns the stored events once they are in
///   history; if they cannot be stored it throws `SERVICE_UNAVAILABLE` and
///   nothing is delivered (never a silent drop).
/// - `history(after:)` is all or nothing: every event after the offset, or
///   `resync` when some may be missing (trimmed from history, or an offset of
///   another epoch). Never a partial gap fill reported as complete.
/// - `lastEvent` answers from the last-value cache; `entity` from the entity
///   directory, which remembers the tenant and owning team of entities named by
///   events and operations.
/// Errors thrown are `HubError`.
public protocol EventBus: Sendable {
    /// Publishes events in the given order (offsets increase in that order per topic).
    func publish(_ drafts: [EventDraft]) async throws -> [Event]

    /// Events after `offset` (from the start of history when `nil`), at most `limit`.
    func history(_ key: TopicKey, after offset: Offset?, limit: Int) async throws -> HistoryPage

    /// The topic's last event (the last-value cache).
    func lastEvent(_ key: TopicKey) async throws -> Event?

    /// What the hub knows about an entity of a tenant.
    func entity(_ ref: EntityRef, tenant: String) async throws -> EntityRecord?

    /// Records (or updates) an entity's owning team.
    func recordEntity(_ ref: EntityRef, tenant: String, teamID: String?) async throws

    /// Forgets an entity that is gone for good (a purged operation): the
    /// history, epoch and last value of `topics` (its own topics) and its
    /// entry in the entity directory. A later event on one of the topics
    /// starts it in a new epoch, so an offset from before gets `resync`.
    func forget(_ ref: EntityRef, tenant: String, topics: [Topic]) async throws

    /// Whether the bus can publish right now (for `/ready`).
    func isReady() async -> Bool

    /// Makes this node receive the events of `keys` (concrete topics or
    /// patterns); returns once they are flowing. Throws `SERVICE_UNAVAILABLE`
    /// when that cannot be confirmed; the references are taken anyway.
    func attach(_ keys: [TopicKey]) async throws

    /// Releases one reference on each key, without waiting; when a key's last
    /// reference goes this node stops receiving its events.
    func detach(_ keys: [TopicKey])
}

/// A page of a topic's history.
public struct HistoryPage: Sendable, Equatable {
    /// The events after the requested offset, oldest first (empty on resync).
    public var events: [Event]
    /// False when events after the requested offset are missing: the caller must resync.
    public var complete: Bool
    /// The topic's latest offset (`nil`: no event yet in this epoch).
    public var latest: Offset?
    /// True when `limit` cut the page short (more events follow).
    public var truncated: Bool

    public init(events: [Event], complete: Bool, latest: Offset?, truncated: Bool = false) {
        self.events = events
        self.complete = complete
        self.latest = latest
        self.truncated = truncated
    }

    public static func resync(latest: Offset?) -> HistoryPage {
        HistoryPage(events: [], complete: false, latest: latest)
    }
}

/// An entity the hub has seen named by an event or an operation.
public struct EntityRecord: Sendable, Equatable {
    public var tenant: String
    public var ref: EntityRef
    public var teamID: String?

    public init(tenant: String, ref: EntityRef, teamID: String?) {
        self.tenant = tenant
        self.ref = ref
        self.teamID = teamID
    }
}
