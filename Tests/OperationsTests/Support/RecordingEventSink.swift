import Foundation
import Operations
import Protocol
import Synchronization

/// An `OperationEventSink` that gives offsets per topic like the hub's bus,
/// keeps every event and entity, and streams events to tests.
final class RecordingEventSink: OperationEventSink {
    struct EntityEntry: Hashable {
        var ref: EntityRef
        var tenant: String
        var teamID: String?
    }

    private struct State {
        var positions: [String: UInt64] = [:]
        var events: [Event] = []
        var entities: [EntityEntry] = []
        var listeners: [AsyncStream<Event>.Continuation] = []
        var failPublishing = false
        var forgotten: [Forgotten] = []
    }

    struct Forgotten: Hashable {
        var ref: EntityRef
        var tenant: String
        var topics: [String]
    }

    private let state = Mutex(State())
    let epoch = "etest"

    func publish(_ drafts: [EventDraft]) async throws -> [Event] {
        let (events, listeners) = try state.withLock { state throws -> ([Event], [AsyncStream<Event>.Continuation]) in
            if state.failPublishing { throw SinkDown() }
            var published: [Event] = []
            for draft in drafts {
                let key = "\(draft.tenant)/\(draft.topic.rawValue)"
                state.positions[key, default: 0] += 1
                let event = draft.with(offset: Offset(epoch: epoch, major: state.positions[key]!))
                state.events.append(event)
                published.append(event)
            }
            return (published, state.listeners)
        }
        for event in events {
            for listener in listeners { listener.yield(event) }
        }
        return events
    }

    func recordEntity(_ ref: EntityRef, tenant: String, teamID: String?) async throws {
        state.withLock { $0.entities.append(EntityEntry(ref: ref, tenant: tenant, teamID: teamID)) }
    }

    func forget(_ ref: EntityRef, tenant: String, topics: [Topic]) async throws {
        try state.withLock { state in
            if state.failPublishing { throw SinkDown() }
            state.forgotten.append(Forgotten(ref: ref, tenant: tenant, topics: topics.map(\.rawValue)))
        }
    }

    var forgotten: [Forgotten] { state.withLock { $0.forgotten } }

    /// Every event published from now on.
    func stream() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self)
        state.withLock { $0.listeners.append(continuation) }
        return stream
    }

    var events: [Event] { state.withLock { $0.events } }
    var entities: [EntityEntry] { state.withLock { $0.entities } }

    func events(on topic: String) -> [Event] {
        events.filter { $0.topic.rawValue == topic }
    }

    func setFailing(_ failing: Bool) {
        state.withLock { $0.failPublishing = failing }
    }

    struct SinkDown: Error {}
}
