import Foundation
import HubTesting
@testable import Operations
import Testing

/// Wake-ups from outside the service (`notifyChanged`, `notifyAllChanged`):
/// what the cross-node change listener calls.
@Suite("Change notifier and external wake-ups")
struct ChangeNotifierTests {
    @Test func notifyAllFiresTheTicketsOfNowOnly() async {
        let notifier = ChangeNotifier()
        let one = notifier.ticket(for: OperationRef(tenant: "acme", id: "op_1"))
        let two = notifier.ticket(for: OperationRef(tenant: "other", id: "op_2"))
        notifier.notifyAll()
        #expect(await notifier.wait(one))
        #expect(await notifier.wait(two))
        #expect(!notifier.isClosed)
        // A ticket taken afterwards has not fired: a cancelled wait says so.
        let later = notifier.ticket(for: OperationRef(tenant: "acme", id: "op_1"))
        let waiting = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await notifier.wait(later)
        }
        #expect(await waiting.value == false)
        #expect(notifier.ticketCount == 0)
    }

    @Test func aWakeUpWithoutAChangeMakesTheLongPollReadAndWaitAgain() async throws {
        let reads = ReadCounter()
        let clock = ManualClock(now: Fixtures.t0)
        // Without the read cache, so that every read of the waiter is a store read the test can count.
        let service = Fixtures.service(store: HookedStore(MemoryOperationStore(), afterRead: { _ in reads.add() }), clock: clock) {
            $0.cacheSize = 0
        }
        let op = try await service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
        let before = reads.count
        let waiter = Task { try await service.waitForChange(op.ref, from: op.version, seconds: 30) }
        defer { waiter.cancel() }
        try await withTimeout(10, "the first read") { await reads.wait(for: before + 1) }
        service.notifyChanged(op.ref)
        try await withTimeout(10, "the read after the wake-up") { await reads.wait(for: before + 2) }
        service.notifyAllChanged()
        try await withTimeout(10, "the read after waking everyone") { await reads.wait(for: before + 3) }
        // Still waiting (nothing changed); the real change answers it.
        let changed = try await service.update(op.ref, OperationUpdate(status: .inProgress))
        #expect(try await withTimeout(10, "the long-poll to answer") { try await waiter.value } == changed)
    }
}
