import Foundation
@testable import Operations
import Protocol
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@Suite("Heartbeat monitor")
struct HeartbeatMonitorTests {
    @Test func aSilentWorkerIsFailedWithWorkerTimeoutAndTheMonitorStopsOnShutdown() async throws {
        let clock = ManualClock(now: Fixtures.t0)
        let sink = RecordingEventSink()
        let service = Fixtures.service(sink: sink, clock: clock)
        let silent = try await service.create(Fixtures.newDeploy(heartbeat: 30), tenant: "acme", createdBy: "alice").operation
        let chatty = try await service.create(Fixtures.newDeploy(heartbeat: 30), tenant: "acme", createdBy: "alice").operation
        let untimed = try await service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
        for op in [silent, chatty, untimed] { _ = try await service.update(op.ref, OperationUpdate(status: .inProgress)) }
        let events = sink.stream()
        try await testGracefulShutdown { shutdown in
            // Inherits the test's graceful-shutdown manager (a task local).
            let run = Task { try await HeartbeatMonitor(operations: service).run() }
            defer { run.cancel() }
            do {
                await clock.waitForSleepers(1)
                clock.advance(by: 20)
                _ = try await service.update(chatty.ref, OperationUpdate(message: "still here"))
                await clock.waitForSleepers(1)
                clock.advance(by: 10.5)
                let failed = try await events.first(within: 5, "the timeout's status_changed") {
                    $0.event == "status_changed" && $0.topic.rawValue == "operation:\(silent.id):progress"
                }
                #expect(failed.data["status"]?.stringValue == "failed")
                #expect(failed.data["error"]?["code"]?.stringValue == "WORKER_TIMEOUT")
                let stored = try await service.operation(silent.ref)
                #expect(stored.status == .failed)
                #expect(stored.error?.code == "WORKER_TIMEOUT")
                #expect(stored.completedAt != nil)
                #expect(try await service.operation(chatty.ref).status == .inProgress)
                #expect(try await service.operation(untimed.ref).status == .inProgress)
                #expect(sink.events(on: "application:app_1:status").contains { $0.event == "deployment_finished" })
                shutdown.triggerGracefulShutdown()
                try await within(5, "the monitor to stop") { try await run.value }
            }
        }
    }
}
