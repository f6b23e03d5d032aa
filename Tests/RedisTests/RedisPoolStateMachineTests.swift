import Synchronization
import Testing

@testable import Redis

final class FakeConnection: RedisPoolConnection {
    let name: String
    private let load: Mutex<Int>
    private let open = Mutex(true)

    init(_ name: String, load: Int = 0) {
        self.name = name
        self.load = Mutex(load)
    }

    var pendingCommands: Int { load.withLock { $0 } }
    var isActive: Bool { open.withLock { $0 } }
    func setLoad(_ value: Int) { load.withLock { $0 = value } }
    func close() { open.withLock { $0 = false } }
}

@Suite("RedisPoolStateMachine")
struct RedisPoolStateMachineTests {
    typealias Machine = RedisPoolStateMachine<FakeConnection>

    func leased(_ machine: inout Machine) -> String? {
        if case .use(let connection) = machine.lease(waiter: nil) { return connection.name }
        return nil
    }

    func failure(_ machine: inout Machine) -> RedisError.Code? {
        if case .fail(let error) = machine.lease(waiter: nil) { return error.code }
        return nil
    }

    @Test func picksTheLeastBusyAndRotatesTies() {
        var machine = Machine(size: 3)
        let result1 = machine.start()
        #expect(result1)
        let a = FakeConnection("a", load: 5), b = FakeConnection("b", load: 1), c = FakeConnection("c", load: 9)
        for (slot, connection) in [a, b, c].enumerated() {
            let result2 = machine.willConnect(slot: slot)
            #expect(result2)
            _ = machine.connected(slot: slot, connection)
        }
        #expect(leased(&machine) == "b")
        b.setLoad(10)
        #expect(leased(&machine) == "a")
        for connection in [a, b, c] { connection.setLoad(0) }
        let rotation = (0..<6).compactMap { _ in leased(&machine) }
        #expect(Set(rotation) == ["a", "b", "c"])
        // A connection whose channel closed is skipped before the slot hears of it.
        a.close()
        b.close()
        #expect((0..<5).compactMap { _ in leased(&machine) } == Array(repeating: "c", count: 5))
        #expect(machine.connectedCount == 1)
    }

    @Test func failsFastOnceEverySlotTriedAndNoneIsUp() {
        var machine = Machine(size: 2)
        _ = machine.start()
        _ = machine.willConnect(slot: 0)
        _ = machine.willConnect(slot: 1)
        // Nothing known yet: with no waiter to queue, the answer is "not connected".
        #expect(failure(&machine) == .notConnected)
        let (failedEarly, _) = machine.connectFailed(slot: 0, RedisError(.connectionFailed, "refused"))
        #expect(failedEarly.isEmpty)  // slot 1 may still succeed
        let (_, error) = machine.connectFailed(slot: 1, RedisError(.connectionFailed, "refused"))
        #expect(error.code == .notConnected)
        #expect(error.message.contains("refused"))
        // Reconnecting keeps "known down": still fail fast.
        _ = machine.willConnect(slot: 0)
        #expect(failure(&machine) == .notConnected)
        _ = machine.connected(slot: 0, FakeConnection("back"))
        #expect(leased(&machine) == "back")
        let result3 = machine.disconnected(slot: 0)
        #expect(result3)
        #expect(failure(&machine) == .notConnected)
    }

    @Test func shutdownRefusesCommandsAndStopsSlots() {
        var machine = Machine(size: 1)
        _ = machine.start()
        _ = machine.willConnect(slot: 0)
        _ = machine.connected(slot: 0, FakeConnection("a"))
        let (live, waiters) = machine.shutDown()
        #expect(live.map(\.name) == ["a"])
        #expect(waiters.isEmpty)
        #expect(failure(&machine) == .shutDown)
        let result4 = machine.willConnect(slot: 0)
        #expect(!result4)
        let result5 = machine.disconnected(slot: 0)
        #expect(!result5)
        if case .close(let connection) = machine.connected(slot: 0, FakeConnection("late")) {
            #expect(connection.name == "late")
        } else {
            Issue.record("a connection made during shutdown must be closed")
        }
        let result6 = machine.start()
        #expect(!result6)
    }
}
