import Foundation
import NIOCore
import Synchronization

/// One long-poll's wait for a change of an operation, without a task: a
/// ticket in the change notifier and a timer on the operations clock. Take
/// a ticket, then read: a change in between fires the ticket, so none is
/// missed; a fired ticket reads again. Ends once, with the operation as soon
/// as its version differs from the one the client holds, `nil` at the
/// deadline or when the hub stops its waiters, or the read's error.
/// ``OperationService/awaitChange(_:from:until:timerLoop:_:)`` starts one;
/// `waitForChange` and the parked long-poll of the HTTP layer are its callers.
public final class ChangeWait: Sendable {
    public typealias Completion = @Sendable (Result<OperationRecord?, any Error>) -> Void

    private struct State {
        var completion: Completion?
        var ticket: ChangeNotifier.Ticket?
        var timer: OperationTimer?
    }

    private let service: OperationService
    private let ref: OperationRef
    private let version: Int
    private let deadline: Date
    private let state: Mutex<State>

    init(service: OperationService, ref: OperationRef, version: Int, deadline: Date, completion: @escaping Completion) {
        self.service = service
        self.ref = ref
        self.version = version
        self.deadline = deadline
        self.state = Mutex(State(completion: completion))
    }

    /// Ends the wait now, answering `nil` (the client left, the task was cancelled).
    public func cancel() {
        finish(.success(nil))
    }

    func start(timerLoop: any EventLoop) {
        let timer = service.clock.schedule(at: deadline, on: timerLoop) { [self] in finish(.success(nil)) }
        let stillWaiting = state.withLock { state -> Bool in
            guard state.completion != nil else { return false }
            state.timer = timer
            return true
        }
        guard stillWaiting else { return timer.cancel() }
        check()
    }

    /// A new ticket, then the current state (from the read cache when it holds it).
    private func check() {
        let ticket = service.notifier.ticket(for: ref)
        let waiting = state.withLock { state -> Bool in
            guard state.completion != nil else { return false }
            state.ticket = ticket
            return true
        }
        guard waiting else { return service.notifier.discard(ticket) }
        if let cached = service.cachedOperation(ref) { return evaluate(.success(cached), ticket) }
        let service = self.service
        let ref = self.ref
        Task {
            do {
                evaluate(.success(try await service.read(ref)), ticket)
            } catch {
                evaluate(.failure(OperationService.wrap(error)), ticket)
            }
        }
    }

    private func evaluate(_ read: Result<OperationRecord?, any Error>, _ ticket: ChangeNotifier.Ticket) {
        switch read {
        case .failure(let error):
            finish(.failure(error))
        case .success(nil):
            finish(.failure(OperationError.notFound(ref.id)))
        case .success(let op?) where op.version != version:
            finish(.success(op))
        case .success where service.notifier.isClosed || service.clock.now() >= deadline:
            finish(.success(nil))
        case .success:
            service.notifier.onFire(ticket) { [self] in
                // Fired by a change, or by the hub stopping its waiters.
                if service.notifier.isClosed { finish(.success(nil)) } else { check() }
            }
        }
    }

    private func finish(_ result: Result<OperationRecord?, any Error>) {
        take()?(result)
    }

    /// The completion, once; drops the ticket and the timer.
    private func take() -> Completion? {
        let (completion, ticket, timer) = state.withLock { state in
            defer { state = State() }
            return (state.completion, state.ticket, state.timer)
        }
        if let ticket { service.notifier.discard(ticket) }
        timer?.cancel()
        return completion
    }
}

extension OperationService {
    /// Starts a long-poll's wait (see ``ChangeWait``); `completion` runs once,
    /// on any thread. `timerLoop` runs the deadline's timer.
    public func awaitChange(
        _ ref: OperationRef, from version: Int, until deadline: Date, timerLoop: any EventLoop,
        _ completion: @escaping ChangeWait.Completion
    ) -> ChangeWait {
        let wait = ChangeWait(service: self, ref: ref, version: version, deadline: deadline, completion: completion)
        wait.start(timerLoop: timerLoop)
        return wait
    }
}
