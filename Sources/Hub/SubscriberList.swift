/// The subscribers of one key, grouped by the executor that serves them
/// (sessions without one form their own group), so the Distributor can hand
/// each executor its sessions in one task. Usually one group per event loop.
struct SubscriberList: Sendable {
    var groups: [SubscriberGroup] = []

    var isEmpty: Bool { groups.isEmpty }

    /// Adds `session`; false when it is already there.
    mutating func insert(_ session: Session) -> Bool {
        if let index = groups.firstIndex(where: { $0.executor === session.executor }) {
            return groups[index].insert(session)
        }
        var group = SubscriberGroup(executor: session.executor)
        _ = group.insert(session)
        groups.append(group)
        return true
    }

    /// Removes `session`; false when it was not there.
    mutating func remove(_ session: Session) -> Bool {
        guard let index = groups.firstIndex(where: { $0.executor === session.executor }) else { return false }
        let removed = groups[index].remove(session.id)
        if groups[index].sessions.isEmpty { groups.remove(at: index) }
        return removed
    }
}

/// Sessions of one key served by one executor.
public struct SubscriberGroup: Sendable {
    public let executor: (any SessionExecutor)?
    public private(set) var sessions: ContiguousArray<Session> = []
    /// Position of each session, kept once the group is large enough for a
    /// linear search to cost more than the dictionary (most topics have a few
    /// subscribers, and an idle connection should cost little memory).
    private var positions: [UInt64: Int]?

    static let indexedFrom = 16

    init(executor: (any SessionExecutor)?) {
        self.executor = executor
    }

    private func position(of id: UInt64) -> Int? {
        if let positions { return positions[id] }
        return sessions.firstIndex { $0.id == id }
    }

    mutating func insert(_ session: Session) -> Bool {
        guard position(of: session.id) == nil else { return false }
        positions?[session.id] = sessions.count
        sessions.append(session)
        if positions == nil, sessions.count >= Self.indexedFrom {
            var built: [UInt64: Int] = [:]
            built.reserveCapacity(sessions.count * 2)
            for (index, member) in sessions.enumerated() { built[member.id] = index }
            positions = built
        }
        return true
    }

    /// O(1) with positions: the last session takes the removed one's place.
    mutating func remove(_ id: UInt64) -> Bool {
        guard let position = position(of: id) else { return false }
        positions?[id] = nil
        let last = sessions.count - 1
        if position != last {
            sessions.swapAt(position, last)
            positions?[sessions[position].id] = position
        }
        sessions.removeLast()
        return true
    }
}
