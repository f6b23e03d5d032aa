import Foundation
import NIOCore
import Synchronization

/// A clock that moves only when told to: `advance(by:)` wakes every sleeper
/// whose deadline has come. For tests (and simulations) of time-driven
/// behaviour without real waiting.
public final class ManualClock: OperationClock {
    struct Sleeper {
        var deadline: Date
        var wake: Wake
    }

    /// A sleeping task, or a scheduled action (``schedule(at:_:)``).
    enum Wake {
        case task(CheckedContinuation<Void, any Error>)
        case action(@Sendable () -> Void)

        func fire() {
            switch self {
            case .task(let continuation): continuation.resume()
            case .action(let action): action()
            }
        }
    }

    struct State {
        var now: Date
        var nextID: UInt64 = 0
        var sleepers: [UInt64: Sleeper] = [:]
        var sleeperWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state: Mutex<State>

    public init(now: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        state = Mutex(State(now: now))
    }

    public func now() -> Date { state.withLock { $0.now } }

    public func sleep(until deadline: Date) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (immediate, waiters) = state.withLock { state -> (Result<Void, any Error>?, [CheckedContinuation<Void, Never>]) in
                    if Task.isCancelled { return (.failure(CancellationError()), []) }
                    if deadline <= state.now { return (.success(()), []) }
                    state.sleepers[id] = Sleeper(deadline: deadline, wake: .task(continuation))
                    return (nil, Self.readyWaiters(&state))
                }
                for waiter in waiters { waiter.resume() }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            if case .task(let continuation)? = sleeper?.wake { continuation.resume(throwing: CancellationError()) }
        }
    }

    /// Counts as a sleeper until it fires or is cancelled.
    public func schedule(at deadline: Date, on loop: any EventLoop, _ action: @escaping @Sendable () -> Void) -> OperationTimer {
        let (id, immediate, waiters) = state.withLock { state -> (UInt64, Bool, [CheckedContinuation<Void, Never>]) in
            state.nextID += 1
            let id = state.nextID
            if deadline <= state.now { return (id, true, []) }
            state.sleepers[id] = Sleeper(deadline: deadline, wake: .action(action))
            return (id, false, Self.readyWaiters(&state))
        }
        for waiter in waiters { waiter.resume() }
        if immediate { action() }
        return OperationTimer { [self] in _ = state.withLock { $0.sleepers.removeValue(forKey: id) } }
    }

    /// Moves the clock forward and wakes the sleepers whose deadline has come.
    public func advance(by seconds: TimeInterval) {
        let due = state.withLock { state -> [Wake] in
            state.now = state.now.addingTimeInterval(seconds)
            let now = state.now
            let ready = state.sleepers.filter { $0.value.deadline <= now }
            for id in ready.keys { state.sleepers[id] = nil }
            return ready.values.map(\.wake)
        }
        for wake in due { wake.fire() }
    }

    /// How many tasks are sleeping on this clock (and scheduled actions pending).
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// Returns once at least `count` tasks are sleeping on this clock (so a
    /// test advances time only after the code under test is waiting on it).
    public func waitForSleepers(_ count: Int = 1) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.sleepers.count >= count { return true }
                state.sleeperWaiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private static func readyWaiters(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        let count = state.sleepers.count
        let ready = state.sleeperWaiters.filter { $0.count <= count }.map(\.continuation)
        state.sleeperWaiters.removeAll { $0.count <= count }
        return ready
    }
}
