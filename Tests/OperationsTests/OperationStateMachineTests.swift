import Foundation
@testable import Operations
import Protocol
import Testing

@Suite("Operation state machine")
struct OperationStateMachineTests {
    static let allowed: Set<[OperationStatus]> = [
        [.pending, .inProgress], [.pending, .cancelled], [.pending, .failed],
        [.inProgress, .succeeded], [.inProgress, .failed], [.inProgress, .cancelling],
        [.cancelling, .cancelled], [.cancelling, .succeeded], [.cancelling, .failed],
    ]

    static var allPairs: [(OperationStatus, OperationStatus)] {
        OperationStatus.allCases.flatMap { from in OperationStatus.allCases.filter { $0 != from }.map { (from, $0) } }
    }

    @Test(arguments: allPairs)
    func everyStatusMoveFollowsTheMachine(from: OperationStatus, to: OperationStatus) throws {
        let expected = Self.allowed.contains([from, to])
        #expect(OperationStateMachine.canTransition(from: from, to: to) == expected)
        let op = Fixtures.operation(status: from)
        var update = OperationUpdate(status: to)
        if to == .failed { update.error = OperationFailure(code: "E", message: "m") }
        let now = Fixtures.t0.addingTimeInterval(5)
        if expected {
            let action = try OperationStateMachine.apply(update, to: op, now: now)
            guard case .commit(let next, let events) = action else {
                Issue.record("expected a commit, got \(action)")
                return
            }
            #expect(next.status == to)
            #expect(next.version == op.version + 1)
            #expect(next.updatedAt == now)
            #expect(events.first == .statusChanged)
            #expect(events.contains(.completed) == to.isTerminal)
            #expect((next.completedAt == now) == to.isTerminal)
            if to == .inProgress { #expect(next.startedAt == now) }
        } else {
            #expect(throws: OperationError.self) { try OperationStateMachine.apply(update, to: op, now: now) }
            do {
                _ = try OperationStateMachine.apply(update, to: op, now: now)
            } catch {
                #expect(error.code == .invalidTransition)
            }
        }
    }

    @Test(arguments: [OperationStatus.succeeded, .failed, .cancelled])
    func terminalStatesNeverChange(status: OperationStatus) throws {
        let op = Fixtures.operation(status: status)
        for update in [OperationUpdate(progress: 100), OperationUpdate(message: "again"), OperationUpdate(status: .inProgress)] {
            #expect(throws: OperationError.self) { try OperationStateMachine.apply(update, to: op, now: Fixtures.t0) }
        }
        // Repeating exactly what is already there is accepted and changes nothing.
        let same = try OperationStateMachine.apply(OperationUpdate(status: status), to: op, now: Fixtures.t0)
        #expect(same == .unchanged(op))
    }

    @Test func progressStaysWithinRangeAndNeverGoesDown() throws {
        var op = Fixtures.operation(status: .inProgress)
        op.progress = 40
        for (value, reason) in [(39, "decreasing"), (101, "out_of_range"), (-1, "out_of_range")] {
            do {
                _ = try OperationStateMachine.apply(OperationUpdate(progress: value), to: op, now: Fixtures.t0)
                Issue.record("progress \(value) was accepted")
            } catch {
                #expect(error.code == .validation)
                #expect(error.field == "progress")
                #expect(error.reason == reason)
            }
        }
        let action = try OperationStateMachine.apply(OperationUpdate(progress: 40), to: op, now: Fixtures.t0.addingTimeInterval(1))
        #expect(action == .heartbeat(with(op) { $0.lastHeartbeatAt = Fixtures.t0.addingTimeInterval(1) }))
        let done = try OperationStateMachine.apply(OperationUpdate(status: .succeeded), to: op, now: Fixtures.t0)
        #expect(done.operation.progress == 100)
    }

    @Test func currentStageMustBeOneOfTheStages() throws {
        let op = Fixtures.operation(status: .inProgress)
        do {
            _ = try OperationStateMachine.apply(OperationUpdate(currentStage: "launch"), to: op, now: Fixtures.t0)
            Issue.record("unknown stage accepted")
        } catch {
            #expect(error.code == .validation)
            #expect(error.reason == "not_a_stage")
        }
        let action = try OperationStateMachine.apply(OperationUpdate(currentStage: "ship"), to: op, now: Fixtures.t0)
        guard case .commit(let next, let events) = action else {
            Issue.record("expected a commit")
            return
        }
        #expect(next.currentStage == "ship")
        #expect(events == [.progressUpdated])
        var free = op
        free.stages = []
        #expect(try OperationStateMachine.apply(OperationUpdate(currentStage: "anything"), to: free, now: Fixtures.t0).operation.currentStage == "anything")
    }

    @Test func errorOnlyWithFailedAndDeploymentEvents() throws {
        let op = Fixtures.operation(status: .pending)
        #expect(throws: OperationError.self) {
            try OperationStateMachine.apply(OperationUpdate(status: .inProgress, error: OperationFailure(code: "X", message: "")), to: op, now: Fixtures.t0)
        }
        let started = try OperationStateMachine.apply(OperationUpdate(status: .inProgress), to: op, now: Fixtures.t0)
        guard case .commit(let running, let events) = started else {
            Issue.record("expected a commit")
            return
        }
        #expect(events == [.statusChanged, .deploymentStarted])
        let failed = try OperationStateMachine.apply(
            OperationUpdate(status: .failed, error: OperationFailure(code: "BUILD", message: "boom")), to: running, now: Fixtures.t0)
        guard case .commit(let end, let endEvents) = failed else {
            Issue.record("expected a commit")
            return
        }
        #expect(end.error?.code == "BUILD")
        #expect(endEvents == [.statusChanged, .completed, .deploymentFinished])
        var other = Fixtures.operation(type: "create_database", target: OperationTarget(kind: "database", id: "db_1"))
        other.startedAt = nil
        let plain = try OperationStateMachine.apply(OperationUpdate(status: .inProgress), to: other, now: Fixtures.t0)
        guard case .commit(_, let plainEvents) = plain else {
            Issue.record("expected a commit")
            return
        }
        #expect(plainEvents == [.statusChanged])
    }

    @Test func cancellation() throws {
        let pending = Fixtures.operation(status: .pending)
        let now = Fixtures.t0.addingTimeInterval(3)
        guard case .commit(let cancelled, let events) = try OperationStateMachine.requestCancel(pending, by: "bob", now: now) else {
            Issue.record("expected a commit")
            return
        }
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.completedAt == now)
        #expect(cancelled.cancelRequestedBy == "bob")
        #expect(events == [.statusChanged, .completed])
        #expect(try OperationStateMachine.requestCancel(cancelled, by: "bob", now: now) == .unchanged(cancelled))

        let running = Fixtures.operation(status: .inProgress)
        guard case .commit(let cancelling, let runningEvents) = try OperationStateMachine.requestCancel(running, by: "bob", now: now) else {
            Issue.record("expected a commit")
            return
        }
        #expect(cancelling.status == .cancelling)
        #expect(cancelling.completedAt == nil)
        #expect(runningEvents == [.cancelRequested])
        #expect(try OperationStateMachine.requestCancel(cancelling, by: "carol", now: now) == .unchanged(cancelling))
        #expect(throws: OperationError.self) {
            try OperationStateMachine.requestCancel(Fixtures.operation(status: .succeeded), by: "bob", now: now)
        }
    }

    @Test func heartbeatExpiry() throws {
        let op = Fixtures.operation(status: .inProgress)  // timeout 30 s, last heartbeat t0
        #expect(OperationStateMachine.expireHeartbeat(op, now: Fixtures.t0.addingTimeInterval(29.999)) == .unchanged(op))
        guard case .commit(let failed, let events) = OperationStateMachine.expireHeartbeat(op, now: Fixtures.t0.addingTimeInterval(30)) else {
            Issue.record("expected a commit")
            return
        }
        #expect(failed.status == .failed)
        #expect(failed.error?.code == "WORKER_TIMEOUT")
        #expect(events.prefix(2) == [.statusChanged, .completed])
        let pending = Fixtures.operation(status: .pending)
        #expect(OperationStateMachine.expireHeartbeat(pending, now: Fixtures.t0.addingTimeInterval(1e6)) == .unchanged(pending))
    }

    @Test func logsGetSequenceNumbersAndTheCapCountsDrops() throws {
        var op = Fixtures.operation(status: .inProgress)
        op.logSequence = 8
        op.droppedLogLines = 3
        let (action, lines) = try OperationStateMachine.appendLogs(["a", "b", "c"], to: op, now: Fixtures.t0, cap: 5, maxLineBytes: 10)
        #expect(lines.map(\.sequence) == [9, 10, 11])
        #expect(action.operation.logSequence == 11)
        #expect(action.operation.droppedLogLines == 6)
        #expect(action.operation.version == op.version + 1)
        #expect(throws: OperationError.self) {
            try OperationStateMachine.appendLogs(["0123456789x"], to: op, now: Fixtures.t0, cap: 5, maxLineBytes: 10)
        }
        #expect(throws: OperationError.self) {
            try OperationStateMachine.appendLogs(["a"], to: Fixtures.operation(status: .failed), now: Fixtures.t0, cap: 5, maxLineBytes: 10)
        }
    }

    @Test(arguments: [
        NewOperation(type: "bad type", target: OperationTarget(kind: "application", id: "a")),
        NewOperation(type: "deploy", target: OperationTarget(kind: "", id: "a")),
        NewOperation(type: "deploy", target: OperationTarget(kind: "application", id: "a:b")),
        NewOperation(type: "deploy", target: OperationTarget(kind: "application", id: "a"), teamID: "a*"),
        NewOperation(type: "deploy", target: OperationTarget(kind: "application", id: "a"), stages: ["x", "x"]),
        NewOperation(type: "deploy", target: OperationTarget(kind: "application", id: "a"), stages: ["x"], currentStage: "y"),
        NewOperation(type: "deploy", target: OperationTarget(kind: "application", id: "a"), heartbeatTimeoutSeconds: 0),
    ])
    func creationIsValidated(new: NewOperation) {
        #expect(throws: OperationError.self) {
            try OperationStateMachine.create(new, id: "op_1", tenant: "acme", createdBy: "a", now: Fixtures.t0, defaultHeartbeatTimeout: nil)
        }
    }

    @Test func creationSetsTheHubFields() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000.123456)
        let op = try OperationStateMachine.create(
            Fixtures.newDeploy(), id: "op_x", tenant: "acme", createdBy: "alice", now: now, defaultHeartbeatTimeout: 45)
        #expect(op.status == .pending)
        #expect(op.version == 1)
        #expect(op.progress == 0)
        #expect(op.createdAt == op.updatedAt)
        #expect(op.createdAt.millisecondsSince1970 == 1_800_000_000_123)
        #expect(op.heartbeatTimeoutSeconds == 45)
        #expect(op.startedAt == nil && op.completedAt == nil)
    }

    @Test func wireFormRoundTrips() throws {
        var op = Fixtures.operation(status: .inProgress)
        op.result = ["url": "https://x", "n": 3]
        op.error = nil
        op.offset = Offset(epoch: "eabc", major: 7)
        op.estimatedCompletion = Fixtures.t0.addingTimeInterval(60)
        let data = try JSONEncoder().encode(op)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["operation_id"] as? String == op.id)
        #expect(json["status"] as? String == "in_progress")
        #expect(json["created_at"] as? String == Timestamp.format(Fixtures.t0))
        #expect(json["offset"] as? String == "eabc:7")
        #expect(json.keys.contains("completed_at"))
        #expect(try JSONDecoder().decode(OperationRecord.self, from: data) == op)
    }
}

func with<T>(_ value: T, _ change: (inout T) -> Void) -> T {
    var copy = value
    change(&copy)
    return copy
}
