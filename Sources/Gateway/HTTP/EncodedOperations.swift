import Foundation
import Operations
import Synchronization

/// The JSON of the operations read last, so that answering the same state
/// again (a CLI polling, many long-polls woken by one change) encodes it once.
///
/// An entry is used only for an equal record: a change (or a heartbeat, which
/// changes the record without a new version) makes a new entry. Bounded: at
/// `capacity` an arbitrary entry makes room; 0 turns it off.
final class EncodedOperations: Sendable {
    private let capacity: Int
    private let entries = Mutex<[OperationRef: (record: OperationRecord, json: [UInt8])]>([:])

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The record's JSON (the `data` of its envelope).
    func json(for op: OperationRecord) -> [UInt8] {
        if capacity > 0, let cached = entries.withLock({ $0[op.ref] }), cached.record == op { return cached.json }
        let json = JSONResponse.encoded(op)
        guard capacity > 0 else { return json }
        entries.withLock { entries in
            if entries[op.ref] == nil, entries.count >= capacity, let victim = entries.keys.first { entries[victim] = nil }
            entries[op.ref] = (op, json)
        }
        return json
    }
}
