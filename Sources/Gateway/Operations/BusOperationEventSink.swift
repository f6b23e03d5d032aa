import Hub
import Operations
import Protocol

/// Publishes the operations service's events through the hub's event bus
/// (history, offsets, last-value cache, entity directory, fan-out): the same
/// path as `POST /api/v1/events`.
struct BusOperationEventSink: OperationEventSink {
    let bus: any EventBus

    func publish(_ drafts: [EventDraft]) async throws -> [Event] {
        try await bus.publish(drafts)
    }

    func recordEntity(_ ref: EntityRef, tenant: String, teamID: String?) async throws {
        try await bus.recordEntity(ref, tenant: tenant, teamID: teamID)
    }

    func forget(_ ref: EntityRef, tenant: String, topics: [Topic]) async throws {
        try await bus.forget(ref, tenant: tenant, topics: topics)
    }
}
