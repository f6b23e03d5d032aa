import Foundation
@testable import Operations
import Protocol
import Testing

@Suite("Operation service")
struct OperationServiceTests {
    let acme = "acme"

    func ref(_ op: OperationRecord) -> OperationRef { op.ref }

    @Test func creationPublishesCreatedAndRecordsTheTeam() async throws {
        let sink = RecordingEventSink()
        let service = Fixtures.service(sink: sink)
        let created = try await service.create(Fixtures.newDeploy(), tenant: acme, createdBy: "alice")
        let op = created.operation
        #expect(!created.replayed)
        #expect(OperationRecord.isValidID(op.id))
        let events = sink.events(on: "operation:\(op.id):progress")
        #expect(events.map(\.event) == ["created"])
        #expect(op.offset == events.last?.offset)
        #expect(events[0].teamID == "frontend")
        #expect(events[0].data["operation_id"]?.stringValue == op.id)
        #expect(events[0].data["status"]?.stringValue == "pending")
        #expect(try await service.operation(op.ref) == op)
        let entities = sink.entities
        #expect(entities.contains(.init(ref: EntityRef(family: "operation", id: op.id), tenant: acme, teamID: "frontend")))
        #expect(entities.contains(.init(ref: EntityRef(family: "application", id: "app_1"), tenant: acme, teamID: "frontend")))
        await #expect(throws: OperationError.self) { try await service.operation(OperationRef(tenant: "other", id: op.id)) }
    }

    @Test(arguments: StoreKind.allCases)
    func everyChangePublishesInVersionOrderAndTheOffsetIsTheLatestEvent(kind: StoreKind) async throws {
        let sink = RecordingEventSink()
        let service = Fixtures.service(store: try kind.make(), sink: sink)
        var op = try await service.create(Fixtures.newDeploy(), tenant: acme, createdBy: "alice").operation
        op = try await service.update(op.ref, OperationUpdate(status: .inProgress, currentStage: "build"))
        op = try await service.update(op.ref, OperationUpdate(progress: 40, message: "compiling"))
        op = try await service.appendLogs(op.ref, ["step 1", "step 2"]).operation
        op = try await service.cancel(op.ref, requestedBy: "bob")
        op = try await service.update(op.ref, OperationUpdate(status: .cancelled))
        let events = sink.events(on: "operation:\(op.id):progress")
        #expect(events.map(\.event) == [
            "created", "status_changed", "progress_updated", "log_appended", "cancel_requested", "status_changed", "completed",
        ])
        #expect(events.compactMap { $0.data["version"]?.doubleValue }.map(Int.init) == [1, 2, 3, 4, 5, 6, 6])
        #expect(op.version == 6)
        #expect(op.offset == events.last?.offset)
        #expect(try await service.operation(op.ref).offset == events.last?.offset)
        let lines = events[3].data["lines"]
        guard case .array(let items) = lines else {
            Issue.record("log_appended carries no lines")
            return
        }
        #expect(items.compactMap { $0["text"]?.stringValue } == ["step 1", "step 2"])
        #expect(events[4].data["requested_by"]?.stringValue == "bob")
        #expect(events[4].data["status"]?.stringValue == "cancelling")
        let application = sink.events(on: "application:app_1:status")
        #expect(application.map(\.event) == ["deployment_started", "deployment_finished"])
        #expect(application.last?.data["status"]?.stringValue == "cancelled")
        #expect(application.last?.data["operation_id"]?.stringValue == op.id)
    }

    @Test func staleIfMatchAndRepeatsDoNotChangeAnything() async throws {
        let sink = RecordingEventSink()
        let service = Fixtures.service(sink: sink)
        let op = try await service.create(Fixtures.newDeploy(), tenant: acme, createdBy: "alice").operation
        let started = try await service.update(op.ref, OperationUpdate(status: .inProgress), ifMatch: 1)
        do {
            _ = try await service.update(op.ref, OperationUpdate(progress: 5), ifMatch: 1)
            Issue.record("a stale If-Match was accepted")
        } catch let error as OperationError {
            #expect(error.code == .preconditionFailed)
        }
        // A heartbeat: same version, no event.
        let count = sink.events.count
        let beat = try await service.update(op.ref, OperationUpdate(status: .inProgress))
        #expect(beat.version == started.version)
        #expect(sink.events.count == count)
        do {
            try await service.delete(op.ref)
            Issue.record("a running operation was deleted")
        } catch let error as OperationError {
            #expect(error.code == .conflict)
        }
    }

    @Test func aFailedPublishStoresNothing() async throws {
        let sink = RecordingEventSink()
        let service = Fixtures.service(sink: sink)
        let op = try await service.create(Fixtures.newDeploy(), tenant: acme, createdBy: "alice").operation
        sink.setFailing(true)
        do {
            _ = try await service.update(op.ref, OperationUpdate(status: .inProgress))
            Issue.record("the change went through without its event")
        } catch let error as OperationError {
            #expect(error.code == .unavailable)
        }
        #expect(try await service.operation(op.ref) == op)
    }

    @Test func twentyConcurrentWorkersNeverLoseAnUpdateNorBreakARule() async throws {
        let sink = RecordingEventSink()
        let store = try StoreKind.sqlite.make()
        let service = Fixtures.service(store: store, sink: sink)
        let op = try await service.create(Fixtures.newDeploy(), tenant: acme, createdBy: "alice").operation
        _ = try await service.update(op.ref, OperationUpdate(status: .inProgress))
        let ref = op.ref
        // Each worker reports rising progress; across workers some reports go down and must be refused.
        let outcomes = try await withThrowingTaskGroup(of: [(String, Int, Bool)].self) { group in
            for worker in 0..<20 {
                group.addTask {
                    var results: [(String, Int, Bool)] = []
                    for step in 0..<10 {
                        let message = "w\(worker)-s\(step)"
                        let progress = step * 10 + worker % 10
                        do {
                            _ = try await service.update(ref, OperationUpdate(progress: progress, message: message))
                            results.append((message, progress, true))
                        } catch let error as OperationError where error.reason == "decreasing" {
                            results.append((message, progress, false))
                        }
                    }
                    return results
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let accepted = outcomes.filter(\.2)
        #expect(outcomes.count == 200)
        #expect(!accepted.isEmpty)
        let final = try await service.operation(ref)
        #expect(final.version == 2 + accepted.count)
        let updates = sink.events(on: "operation:\(op.id):progress").filter { $0.event == "progress_updated" }
        #expect(updates.count == accepted.count)
        #expect(Set(updates.compactMap { $0.data["message"]?.stringValue }) == Set(accepted.map(\.0)))
        let versions = updates.compactMap { $0.data["version"]?.doubleValue }.map(Int.init)
        #expect(versions == Array(3..<(3 + accepted.count)))
        let progress = updates.compactMap { $0.data["progress"]?.doubleValue }
        #expect(progress == progress.sorted())
        #expect(final.progress == accepted.map(\.1).max())
        #expect(final.offset == updates.last?.offset)
        #expect(try await (store as! SQLiteOperationStore).consistencyProblems(logCap: 10_000) == [])
        #expect(service.locks.heldCount == 0)
    }

    @Test func idempotentCreation() async throws {
        let sink = RecordingEventSink()
        let store = MemoryOperationStore()
        let service = Fixtures.service(store: store, sink: sink)
        let key = OperationService.Idempotency(key: "deploy-42", fingerprint: "body-A")
        let first = try await service.create(Fixtures.newDeploy(), tenant: acme, createdBy: "alice", idempotency: key)
        let again = try await service.create(Fixtures.newDeploy(), tenant: acme, createdBy: "alice", idempotency: key)
        #expect(again.replayed)
        #expect(again.operation == first.operation)
        #expect(sink.events.filter { $0.event == "created" }.count == 1)
        do {
            _ = try await service.create(
                Fixtures.newDeploy(), tenant: acme, createdBy: "alice", idempotency: .init(key: "deploy-42", fingerprint: "body-B"))
            Issue.record("a different body with the same key was accepted")
        } catch let error as OperationError {
            #expect(error.code == .unprocessable)
        }
        // Another caller's key of the same name is theirs.
        let bob = try await service.create(Fixtures.newDeploy(), tenant: acme, createdBy: "bob", idempotency: key)
        #expect(!bob.replayed)
        // A first request still in flight.
        _ = try await store.claimIdempotencyKey(
            IdempotencyKey(tenant: acme, caller: "alice", key: "slow"), fingerprint: "F", now: Fixtures.t0, ttl: 86_400, lease: 60)
        do {
            _ = try await service.create(
                Fixtures.newDeploy(), tenant: acme, createdBy: "alice", idempotency: .init(key: "slow", fingerprint: "F"))
            Issue.record("a key in flight was reused")
        } catch let error as OperationError {
            #expect(error.code == .conflict)
        }
        // An invalid request does not take the key.
        await #expect(throws: OperationError.self) {
            try await service.create(
                NewOperation(type: "", target: OperationTarget(kind: "a", id: "b")), tenant: acme, createdBy: "alice",
                idempotency: .init(key: "bad", fingerprint: "X"))
        }
        #expect(
            try await store.claimIdempotencyKey(
                IdempotencyKey(tenant: acme, caller: "alice", key: "bad"), fingerprint: "Y", now: Fixtures.t0, ttl: 86_400, lease: 60)
                == .claimed)
    }

    @Test func longPollWakesOnTheChange() async throws {
        let clock = ManualClock(now: Fixtures.t0)
        let service = Fixtures.service(clock: clock)
        let op = try await service.create(Fixtures.newDeploy(), tenant: acme, createdBy: "alice").operation
        let waiter = Task { try await service.waitForChange(op.ref, from: op.version, seconds: 30) }
        await clock.waitForSleepers(1)
        let changed = try await service.update(op.ref, OperationUpdate(status: .inProgress))
        let woke = try await within(5, "the long-poll to answer") { try await waiter.value }
        #expect(woke == changed)
        #expect(service.notifier.ticketCount == 0)
        // Asking from an old version answers at once.
        #expect(try await service.waitForChange(op.ref, from: 1, seconds: 30) == changed)
    }

    @Test func longPollAnswersNothingAtTheDeadline() async throws {
        let clock = ManualClock(now: Fixtures.t0)
        let service = Fixtures.service(clock: clock)
        let op = try await service.create(Fixtures.newDeploy(), tenant: acme, createdBy: "alice").operation
        let waiter = Task { try await service.waitForChange(op.ref, from: op.version, seconds: 30) }
        await clock.waitForSleepers(1)
        clock.advance(by: 29)
        clock.advance(by: 1)
        let result = try await within(5, "the long-poll deadline") { try await waiter.value }
        #expect(result == nil)
        #expect(service.notifier.ticketCount == 0)
        #expect(clock.sleeperCount == 0)
    }

    @Test func stoppingWaitersAnswersEveryLongPoll() async throws {
        let clock = ManualClock(now: Fixtures.t0)
        let service = Fixtures.service(clock: clock)
        let op = try await service.create(Fixtures.newDeploy(), tenant: acme, createdBy: "alice").operation
        let waiter = Task { try await service.waitForChange(op.ref, from: op.version, seconds: 60) }
        let follower = Task { try await service.nextLogs(op.ref, after: 0, limit: 10, until: clock.now().addingTimeInterval(60)) }
        await clock.waitForSleepers(2)
        service.stopWaiters()
        #expect(try await within(5, "the long-poll to end") { try await waiter.value } == nil)
        #expect(try await within(5, "the follower to end") { try await follower.value } == .shuttingDown)
    }

    @Test func followingLogsUntilTheOperationEnds() async throws {
        let clock = ManualClock(now: Fixtures.t0)
        let service = Fixtures.service(clock: clock)
        let op = try await service.create(Fixtures.newDeploy(), tenant: acme, createdBy: "alice").operation
        _ = try await service.update(op.ref, OperationUpdate(status: .inProgress))
        let deadline = clock.now().addingTimeInterval(60)
        let follower = Task { try await service.nextLogs(op.ref, after: 0, limit: 10, until: deadline) }
        await clock.waitForSleepers(1)
        _ = try await service.appendLogs(op.ref, ["hello"])
        let step = try await within(5, "log lines") { try await follower.value }
        guard case .lines(let page) = step else {
            Issue.record("expected lines")
            return
        }
        #expect(page.lines.map(\.text) == ["hello"])
        #expect(page.lines.map(\.sequence) == [1])
        let end = Task { try await service.nextLogs(op.ref, after: 1, limit: 10, until: deadline) }
        await clock.waitForSleepers(1)
        _ = try await service.update(op.ref, OperationUpdate(status: .succeeded))
        let last = try await within(5, "the end of the log") { try await end.value }
        guard case .finished(let finished) = last else {
            Issue.record("expected the end")
            return
        }
        #expect(finished.status == .succeeded)
        let idle = Task { try await service.nextLogs(op.ref, after: 1, limit: 10, until: deadline) }
        // A finished operation ends at once, even with no new lines.
        #expect(try await within(5, "the end") { try await idle.value } == .finished(finished))
    }
}
