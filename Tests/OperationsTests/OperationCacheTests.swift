import Foundation
import Protocol
import Testing

@testable import Operations

@Suite("Operation read cache")
struct OperationCacheTests {
    func counted(shared: Bool? = nil) -> (HookedStore, ReadCounter) {
        let reads = ReadCounter()
        return (HookedStore(MemoryOperationStore(), afterRead: { _ in reads.add() }, shared: shared), reads)
    }

    @Test func readsAfterAWriteComeFromMemoryAndSeeTheLatestWrite() async throws {
        let (store, reads) = counted()
        let service = Fixtures.service(store: store)
        let op = try await service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
        let before = reads.count
        #expect(try await service.operation(op.ref) == op)
        let updated = try await service.update(op.ref, OperationUpdate(status: .inProgress, progress: 40))
        for _ in 0..<3 { #expect(try await service.operation(op.ref) == updated) }
        // The update read the store once (under the operation's lock); the four reads none.
        #expect(reads.count == before + 1)
    }

    @Test func aHeartbeatWithoutANewVersionIsSeen() async throws {
        let clock = ManualClock(now: Fixtures.t0)
        let service = Fixtures.service(clock: clock)
        let op = try await service.create(Fixtures.newDeploy(heartbeat: 60), tenant: "acme", createdBy: "alice").operation
        let running = try await service.update(op.ref, OperationUpdate(status: .inProgress))
        clock.advance(by: 5)
        let beat = try await service.update(op.ref, OperationUpdate())
        #expect(beat.version == running.version)
        #expect(try await service.operation(op.ref).lastHeartbeatAt == beat.lastHeartbeatAt)
        #expect(beat.lastHeartbeatAt != running.lastHeartbeatAt)
    }

    @Test func aSharedStoreIsReadEveryTime() async throws {
        let (store, reads) = counted(shared: true)
        let service = Fixtures.service(store: store)
        let op = try await service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
        let before = reads.count
        for _ in 0..<3 { _ = try await service.operation(op.ref) }
        #expect(reads.count == before + 3)
    }

    @Test func sizeZeroTurnsItOff() async throws {
        let (store, reads) = counted()
        let service = Fixtures.service(store: store) { $0.cacheSize = 0 }
        let op = try await service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
        let before = reads.count
        for _ in 0..<2 { _ = try await service.operation(op.ref) }
        #expect(reads.count == before + 2)
    }

    @Test func aDeletedOperationIsGoneAndAnotherTenantNeverSeesIt() async throws {
        let service = Fixtures.service()
        let op = try await service.create(Fixtures.newDeploy(), tenant: "acme", createdBy: "alice").operation
        await #expect(throws: OperationError.self) { try await service.operation(OperationRef(tenant: "globex", id: op.id)) }
        _ = try await service.cancel(op.ref, requestedBy: "alice")
        try await service.delete(op.ref)
        let error = await #expect(throws: OperationError.self) { try await service.operation(op.ref) }
        #expect(error?.code == .notFound)
    }

    @Test func aReadThatMissedDoesNotBringBackWhatWasRemovedMeanwhile() {
        let cache = OperationCache(capacity: 10)
        let op = Fixtures.operation()
        let (missed, generation) = cache.lookup(op.ref)
        #expect(missed == nil)
        // The reader read `op` from the store; meanwhile it was deleted.
        cache.remove(op.ref)
        cache.fill(op, generation: generation)
        #expect(cache.lookup(op.ref).record == nil)
    }

    @Test func anOlderValueNeverReplacesANewerOne() {
        let cache = OperationCache(capacity: 10)
        var v1 = Fixtures.operation(status: .inProgress)
        var v2 = v1
        v2.version = 2
        cache.put(v2)
        cache.fill(v1, generation: cache.lookup(v1.ref).generation)
        #expect(cache.lookup(v1.ref).record?.version == 2)
        // Same version: the later heartbeat wins.
        v1 = v2
        v2.lastHeartbeatAt = v1.lastHeartbeatAt?.addingTimeInterval(10)
        cache.put(v2)
        cache.put(v1)
        #expect(cache.lookup(v1.ref).record == v2)
    }

    @Test func atCapacityAnEntryMakesRoom() {
        let cache = OperationCache(capacity: 2)
        let ops = (0..<3).map { _ in Fixtures.operation() }
        for op in ops { cache.put(op) }
        #expect(cache.count == 2)
        #expect(cache.lookup(ops[2].ref).record == ops[2])
        let off = OperationCache(capacity: 0)
        off.put(ops[0])
        #expect(off.lookup(ops[0].ref).record == nil)
    }
}
