import Synchronization

/// The operations this node read or wrote last, so that a read (a CLI's
/// poll, a long-poll waking up) costs a lookup instead of a store round trip.
///
/// Only for a store no other process writes (``OperationStore/isShared``
/// false): with a shared store another node's write would leave this copy
/// stale, and a client that writes through one node and reads through
/// another must see its own write.
///
/// Kept right without holding a lock across the store read:
/// - a write (always under the operation's `KeyedLock`) stores the value it
///   just committed (``put(_:)``);
/// - a read that missed stores what it read (``fill(_:generation:)``) only if
///   nothing was removed since it looked (the `generation` it read first),
///   and neither a read nor a write replaces a newer value with an older one
///   (`version`, then `lastHeartbeatAt`: a heartbeat changes the record
///   without a new version);
/// - a delete or purge removes the entry after the store has deleted it.
///
/// Bounded: at `capacity` an arbitrary entry makes room. `capacity` 0 turns
/// the cache off.
final class OperationCache: Sendable {
    private struct State {
        var entries: [OperationRef: OperationRecord] = [:]
        var generation: UInt64 = 0
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    var isEnabled: Bool { capacity > 0 }

    /// The cached operation, and the generation to pass to ``fill(_:generation:)`` after a miss.
    func lookup(_ ref: OperationRef) -> (record: OperationRecord?, generation: UInt64) {
        state.withLock { ($0.entries[ref], $0.generation) }
    }

    /// After a write: the committed value.
    func put(_ op: OperationRecord) {
        guard isEnabled else { return }
        state.withLock { store(op, in: &$0) }
    }

    /// After a miss: what the store answered, unless something was removed meanwhile.
    func fill(_ op: OperationRecord, generation: UInt64) {
        guard isEnabled else { return }
        state.withLock { state in
            guard state.generation == generation else { return }
            store(op, in: &state)
        }
    }

    /// After the store deleted it.
    func remove(_ ref: OperationRef) {
        state.withLock { state in
            state.generation &+= 1
            state.entries[ref] = nil
        }
    }

    /// Everything (changes elsewhere may have gone unnoticed).
    func removeAll() {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll()
        }
    }

    var count: Int { state.withLock { $0.entries.count } }

    private func store(_ op: OperationRecord, in state: inout State) {
        if let cached = state.entries[op.ref], Self.isNewer(cached, than: op) { return }
        if state.entries[op.ref] == nil, state.entries.count >= capacity, let victim = state.entries.keys.first {
            state.entries[victim] = nil
        }
        state.entries[op.ref] = op
    }

    /// Whether `a` is a later state of the operation than `b`.
    static func isNewer(_ a: OperationRecord, than b: OperationRecord) -> Bool {
        if a.version != b.version { return a.version > b.version }
        switch (a.lastHeartbeatAt, b.lastHeartbeatAt) {
        case (let x?, let y?): return x > y
        case (.some, nil): return true
        default: return false
        }
    }
}
