import Foundation
import HubTesting
@testable import Operations
import Synchronization

/// Where the `replace` calls of several stores meet: each call waits until
/// `parties` calls for the same operation have arrived, then all go on at
/// once. So the writers of a race have all read the same version before any
/// of them writes (the race is certain, not likely). Counts the outcomes.
final class Rendezvous: Sendable {
    struct Outcome: Sendable, Hashable {
        var stored = 0
        var conflicts = 0
        /// Writers that went on without meeting the others.
        var alone = 0
    }

    private struct State {
        var arrived: [OperationRef: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        var outcomes: [OperationRef: Outcome] = [:]
        var nextID: UInt64 = 0
    }

    let parties: Int
    /// How long a writer waits for the others before it goes on alone (and
    /// the test fails on the outcomes rather than hanging).
    let patience: Duration
    private let state = Mutex(State())

    init(parties: Int, patience: Duration = .seconds(10)) {
        self.parties = parties
        self.patience = patience
    }

    func meet(_ ref: OperationRef) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        do {
            // Only a deadline: the writers normally meet long before.
            try await withTimeout(Double(patience.components.seconds), "the other writers of \(ref.id)") {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
                        state.arrived[ref, default: [:]][id] = continuation
                        guard state.arrived[ref]!.count >= self.parties else { return [] }
                        return Array((state.arrived.removeValue(forKey: ref) ?? [:]).values)
                    }
                    for waiter in ready { waiter.resume() }
                }
            }
        } catch {
            // Alone: go on (the test fails on the outcomes), and let the waiting body end.
            let alone = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let waiter = state.arrived[ref]?.removeValue(forKey: id) else { return nil }
                state.outcomes[ref, default: Outcome()].alone += 1
                return waiter
            }
            alone?.resume()
        }
    }

    func record(_ ref: OperationRef, stored: Bool) {
        state.withLock { state in
            if stored { state.outcomes[ref, default: Outcome()].stored += 1 } else { state.outcomes[ref, default: Outcome()].conflicts += 1 }
        }
    }

    var outcomes: [OperationRef: Outcome] { state.withLock { $0.outcomes } }
}
