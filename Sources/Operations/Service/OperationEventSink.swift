import Protocol

/// Where the operations service publishes its events: the hub's event bus,
/// adapted by the Gateway (so this module does not depend on the Hub). The
/// same contract as the bus: events get offsets in the order given, go to
/// history, the last-value cache and every subscriber; a failure throws and
/// delivers nothing.
public protocol OperationEventSink: Sendable {
    func publish(_ drafts: [EventDraft]) async throws -> [Event]

    /// Tells the hub's entity directory who owns an entity (team scope).
    func recordEntity(_ ref: EntityRef, tenant: String, teamID: String?) async throws

    /// Forgets an entity that is gone (a purged operation): the history and
    /// last value of `topics` and the entity's directory entry.
    func forget(_ ref: EntityRef, tenant: String, topics: [Topic]) async throws
}
