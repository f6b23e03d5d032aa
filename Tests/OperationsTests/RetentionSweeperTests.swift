import Foundation
@testable import Operations
import Protocol
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@Suite("Retention sweeper")
struct RetentionSweeperTests {
    @Test(arguments: StoreKind.allCases)
    func finishedOperationsOlderThanTheRetentionArePurged(kind: StoreKind) async throws {
        let clock = ManualClock(now: Fixtures.t0)
        let sink = RecordingEventSink()
        let service = Fixtures.service(store: try kind.make(), sink: sink, clock: clock) { $0.retentionSeconds = 3600 }
        let finished = try await service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
        let done = try await service.cancel(finished.ref, requestedBy: "alice")
        let running = try await service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
        try await testGracefulShutdown { shutdown in
            // Inherits the test's graceful-shutdown manager (a task local).
            let run = Task { try await RetentionSweeper(operations: service).run() }
            defer { run.cancel() }
            do {
                // The first sweep runs at start: nothing is old enough yet.
                await clock.waitForSleepers(1)
                #expect(try await service.operation(done.ref).status == .cancelled)
                let gone = Task { try await service.waitForChange(done.ref, from: done.version, seconds: 1e9) }
                await clock.waitForSleepers(2)
                clock.advance(by: 3600 + 60)
                do {
                    _ = try await within(5, "the purge") { try await gone.value }
                    Issue.record("the finished operation is still there")
                } catch let error as OperationError {
                    #expect(error.code == .notFound)
                }
                #expect(try await service.operation(running.ref).status == .pending)
                shutdown.triggerGracefulShutdown()
                // The purged operation's topic and directory entry are forgotten in the hub; the running one's are not.
                #expect(sink.forgotten == [.init(ref: EntityRef(family: "operation", id: done.id), tenant: "acme", topics: ["operation:\(done.id):progress"])])
                try await within(5, "the sweeper to stop") { try await run.value }
            }
        }
    }
}
