import Protocol
import Testing

@testable import Hub

/// The pure state of the Redis bus's subscriptions: reference counts,
/// confirmations, one batch at a time, cursors. Waiters are plain numbers here.
@Suite("RedisSubscriptionTable")
struct RedisSubscriptionTableTests {
    typealias Table = RedisSubscriptionTable<Int>
    let k1 = Table.Target.exact(key("operation:op_1:progress"))
    let k2 = Table.Target.exact(key("operation:op_2:progress"))
    let wild = Table.Target.pattern(key("operation:*:progress"))

    /// Attaches `targets` for waiter `waiter`: true when it had to wait (registered).
    @discardableResult
    func attach(_ table: inout Table, _ targets: [Table.Target], waiter: Int) -> Bool {
        guard !table.attach(targets) else { return false }
        return table.register(table.makeID(), targets, waiter, cancelled: false) == nil
    }

    func resumed(_ list: [(Int, Result<Void, HubError>)]) -> [Int: Bool] {
        Dictionary(uniqueKeysWithValues: list.map { ($0.0, (try? $0.1.get()) != nil) })
    }

    func set(_ batch: Table.Batch?) -> Set<Table.Target>? {
        switch batch {
        case .subscribe(let targets)?, .unsubscribe(let targets)?: Set(targets)
        case nil: nil
        }
    }

    /// Subscribes everything wanted, successfully.
    func confirmAll(_ table: inout Table) {
        while let batch = table.nextBatch() {
            switch batch {
            case .subscribe(let targets): _ = table.subscribed(targets, error: nil)
            case .unsubscribe(let targets): table.unsubscribed(targets)
            }
        }
    }

    @Test("the first attach subscribes; confirmation resumes it and asks for a sync marker; later attaches return at once")
    func firstAttach() {
        var table = Table()
        #expect(attach(&table, [k1], waiter: 1))
        #expect(table.nextBatch() == .subscribe([k1]))
        #expect(table.nextBatch() == nil, "one batch at a time")
        let (list, needSync) = table.subscribed([k1], error: nil)
        #expect(resumed(list) == [1: true])
        #expect(needSync == [key("operation:op_1:progress")])
        #expect(table.attach([k1]) == true)
        #expect(table.entries[k1]?.refs == 2)
    }

    @Test("a second attach while the first is in flight waits for the same confirmation")
    func secondAttachWaits() {
        var table = Table()
        #expect(attach(&table, [k1], waiter: 1))
        #expect(table.nextBatch() == .subscribe([k1]))
        #expect(attach(&table, [k1], waiter: 2))
        #expect(table.nextBatch() == nil, "already in flight")
        #expect(resumed(table.subscribed([k1], error: nil).resumed) == [1: true, 2: true])
    }

    @Test("a waiter of several targets is resumed once all are confirmed")
    func severalTargets() {
        var table = Table()
        #expect(attach(&table, [k1], waiter: 1))
        #expect(table.nextBatch() == .subscribe([k1]))
        #expect(attach(&table, [k1, wild], waiter: 2))
        #expect(resumed(table.subscribed([k1], error: nil).resumed) == [1: true])
        #expect(table.nextBatch() == .subscribe([wild]))
        #expect(resumed(table.subscribed([wild], error: nil).resumed) == [2: true])
    }

    @Test("detached while subscribing: unsubscribed after; re-attached while unsubscribing: subscribed again after")
    func orderOfChanges() {
        var table = Table()
        attach(&table, [k1], waiter: 1)
        #expect(table.nextBatch() == .subscribe([k1]))
        #expect(table.detach([k1]) == false, "in flight: decided when it completes")
        _ = table.subscribed([k1], error: nil)
        #expect(table.nextBatch() == .unsubscribe([k1]))
        #expect(attach(&table, [k1], waiter: 2), "not confirmed while being unsubscribed")
        #expect(table.nextBatch() == nil)
        table.unsubscribed([k1])
        #expect(table.nextBatch() == .subscribe([k1]))
        #expect(resumed(table.subscribed([k1], error: nil).resumed) == [2: true])
        #expect(table.nextBatch() == nil)
        #expect(table.activeTargets == [k1])
        #expect(table.detach([k1]) == true)
        #expect(table.nextBatch() == .unsubscribe([k1]))
        table.unsubscribed([k1])
        #expect(table.entries.isEmpty)
    }

    @Test("a refused subscribe fails its waiters once; nothing retries it; the detach unsubscribes")
    func refused() {
        var table = Table()
        attach(&table, [k1, k2], waiter: 1)
        #expect(set(table.nextBatch()) == [k1, k2])
        #expect(resumed(table.subscribed([k1, k2], error: .unavailable("refused")).resumed) == [1: false])
        #expect(table.nextBatch() == nil, "no retry loop")
        _ = table.detach([k1, k2])
        #expect(set(table.nextBatch()) == [k1, k2])
    }

    @Test("a waiter that gives up keeps its references until detached")
    func cancelledWaiter() {
        var table = Table()
        _ = table.attach([k1])
        let id = table.makeID()
        #expect(table.register(id, [k1], 7, cancelled: false) == nil)
        #expect(table.cancelWaiter(id) == 7)
        #expect(table.cancelWaiter(id) == nil)
        #expect(table.nextBatch() == nil, "nobody waits: nothing to subscribe")
        #expect(table.entries[k1]?.refs == 1)
        _ = table.detach([k1])
        #expect(table.entries.isEmpty)
    }

    @Test("a subscribe that failed because the subscriber is down is parked until it is back")
    func parked() {
        var table = Table()
        attach(&table, [k1], waiter: 1)
        #expect(table.nextBatch() == .subscribe([k1]))
        #expect(table.subscribed([k1], error: .unavailable("down"), parked: true).resumed.isEmpty)
        #expect(table.nextBatch() == nil, "not sent again while down")
        let plan = table.connected()
        #expect(resumed(plan.resumed) == [1: true])
        #expect(plan.needSync == [key("operation:op_1:progress")])
        #expect(plan.exact.isEmpty)
    }

    @Test("cursors drop copies of delivered events; live events wait while interrupted, recovered ones do not")
    func cursors() {
        var table = Table()
        attach(&table, [k1], waiter: 1)
        confirmAll(&table)
        table.synced(key("operation:op_1:progress"), Offset(epoch: "rx", major: 5))
        let e5 = makeEvent("operation:op_1:progress", epoch: "rx", position: 5)
        let e6 = makeEvent("operation:op_1:progress", epoch: "rx", position: 6)
        #expect(table.accept(e5, channel: "c") == false, "at the cursor: a copy")
        #expect(table.accept(e6, channel: "c") == true)
        #expect(table.isRepeat(channel: "c", offset: e6.offset))
        #expect(table.isRepeat(channel: "d", offset: e6.offset) == false)
        #expect(table.accept(e6, channel: nil) == false)
        // Another epoch (the stream was recreated) goes through and moves the cursor.
        let other = makeEvent("operation:op_1:progress", epoch: "ry", position: 1)
        #expect(table.accept(other, channel: "c") == true)
        // Topics the node has no exact subscription for are not filtered.
        #expect(table.accept(makeEvent("operation:op_9:progress", position: 1), channel: "e") == true)

        table.interrupt()
        let e7 = makeEvent("operation:op_1:progress", epoch: "ry", position: 7)
        #expect(table.accept(e7, channel: "c") == false, "interrupted: left to the recovery")
        let plan = table.connected()
        #expect(plan.exact.map(\.key) == [key("operation:op_1:progress")])
        #expect(plan.exact.first?.cursor == other.offset)
        #expect(table.accept(e7, channel: nil) == true)
        table.recovered()
        #expect(table.accept(makeEvent("operation:op_1:progress", epoch: "ry", position: 8), channel: "c") == true)
    }

    @Test("sync markers: an event published before the marker is delivered before it; the cursor never moves back")
    func syncMarkers() {
        var table = Table()
        attach(&table, [k1, k2], waiter: 1)
        confirmAll(&table)
        let k = key("operation:op_1:progress")
        // Published after the confirmation, before the marker: it arrives first and is delivered.
        let e3 = makeEvent("operation:op_1:progress", epoch: "rx", position: 3)
        #expect(table.accept(e3, channel: "c") == true)
        table.synced(k, Offset(epoch: "rx", major: 3))
        #expect(table.entries[k1]?.cursor == e3.offset)
        // A marker of another node, behind this node's cursor, does not move it back.
        let e5 = makeEvent("operation:op_1:progress", epoch: "rx", position: 5)
        #expect(table.accept(e5, channel: "c") == true)
        table.synced(k, Offset(epoch: "rx", major: 4))
        #expect(table.entries[k1]?.cursor == e5.offset)
        // A topic without events: the marker's position is where recovery starts.
        table.synced(key("operation:op_2:progress"), Offset(epoch: "rx", major: 0))
        #expect(table.entries[k2]?.cursor == Offset(epoch: "rx", major: 0))
        // Ignored while interrupted, and for topics without an exact subscription.
        table.interrupt()
        table.synced(k, Offset(epoch: "rx", major: 9))
        #expect(table.entries[k1]?.cursor == e5.offset)
        table.recovered()
        table.synced(key("operation:op_7:progress"), Offset(epoch: "rx", major: 1))
        #expect(table.entries[.exact(key("operation:op_7:progress"))] == nil)
    }

    @Test("after an interruption: exact keys with their cursors, wildcard keys to close, observers left out")
    func recoveryPlan() {
        var table = Table()
        let observer = Table.Target.observer(topic("operation:*:progress"))
        for (n, target) in [k1, wild, observer].enumerated() { attach(&table, [target], waiter: n) }
        confirmAll(&table)
        table.interrupt()
        let plan = table.connected()
        #expect(plan.exact.map(\.key) == [key("operation:op_1:progress")])
        #expect(plan.exact.first?.cursor == nil)
        #expect(plan.patterns == [key("operation:*:progress")])
        // Nothing to recover without an interruption.
        table.recovered()
        #expect(table.connected().exact.isEmpty)
    }

    @Test("shutdown fails every waiter and hands out no batch")
    func stop() {
        var table = Table()
        attach(&table, [k1], waiter: 1)
        attach(&table, [k2], waiter: 2)
        #expect(Set(table.stop()) == [1, 2])
        #expect(table.nextBatch() == nil)
        let id = table.makeID()
        guard case .failure(let error)? = table.register(id, [k1], 3, cancelled: false) else {
            Issue.record("a waiter registered after shutdown must fail at once")
            return
        }
        #expect(error.code == .serviceUnavailable)
    }
}
