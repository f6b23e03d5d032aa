import NIOCore

/// What a `HeartbeatWheel` pings: a WebSocket session's handler.
protocol HeartbeatMember: AnyObject {
    /// Called on the wheel's loop once per interval.
    func beat()
}

/// The heartbeats of the WebSocket sessions served on one event loop: one
/// timer per loop instead of one per connection.
///
/// With a repeated task per connection every ping re-inserted a task into the
/// loop's timer heap (5,000 of them on a loop of a 10,000-connection node,
/// copied on their way through it) and woke the loop for itself; a ping and
/// its pong cost 46–52 µs of the hub's CPU (`Docs/performance.md`, "Heartbeats on
/// a wheel"). The wheel divides the interval into slots of one `tick`; each
/// connection joins the next slot in turn, so connections opened together
/// (the reconnect after a deploy) are spread over the interval, and each tick
/// pings one slot's connections in one go. A connection's first ping comes
/// within one interval of joining, and then one interval apart.
final class HeartbeatWheel: Sendable {
    let loop: any EventLoop
    /// The time between two slots: `interval / slotCount`.
    let tick: TimeAmount
    let slotCount: Int
    private let storage: NIOLoopBound<Storage>

    /// Mutated in place, on the loop (a struct in a box would be copied on every change).
    private final class Storage {
        var slots: [[ObjectIdentifier: any HeartbeatMember]]
        /// The slot the next tick pings.
        var cursor = 0
        /// The slot the next member joins.
        var next = 0
        var members = 0
        /// Runs only while the wheel has members.
        var timer: RepeatedTask?

        init(slotCount: Int) {
            slots = Array(repeating: [:], count: slotCount)
        }
    }

    /// The interval is divided into slots of about `resolution`, but into at
    /// most `maxSlots`: a long interval gets longer ticks instead of more slots.
    init(loop: any EventLoop, interval: TimeAmount, resolution: TimeAmount = .milliseconds(250), maxSlots: Int = 1_024) {
        let wanted = interval.nanoseconds / max(1, resolution.nanoseconds)
        slotCount = Int(min(max(1, wanted), Int64(max(1, maxSlots))))
        self.loop = loop
        self.tick = .nanoseconds(max(1, interval.nanoseconds / Int64(slotCount)))
        self.storage = NIOLoopBound(Storage(slotCount: slotCount), eventLoop: loop)
    }

    /// Members now on the wheel (on the loop).
    var memberCount: Int { storage.value.members }

    /// Whether the wheel's timer is scheduled (on the loop).
    var isTicking: Bool { storage.value.timer != nil }

    /// On the loop: pings `member` once per interval from now on, the first
    /// time within one interval. Returns the slot to `leave` with.
    func join(_ member: any HeartbeatMember) -> Int {
        let storage = storage.value
        let slot = storage.next
        storage.next = (slot + 1) % slotCount
        storage.slots[slot][ObjectIdentifier(member)] = member
        storage.members += 1
        if storage.timer == nil {
            storage.timer = loop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in self.advance() }
        }
        return slot
    }

    /// On the loop: `member` (which joined in `slot`) is not pinged again.
    func leave(_ member: any HeartbeatMember, slot: Int) {
        let storage = storage.value
        guard storage.slots[slot].removeValue(forKey: ObjectIdentifier(member)) != nil else { return }
        storage.members -= 1
        if storage.members == 0 {
            storage.timer?.cancel()
            storage.timer = nil
        }
    }

    /// One tick: pings the members of the cursor's slot. A member may leave
    /// while being pinged (a missed heartbeat closes its connection).
    private func advance() {
        let storage = storage.value
        let due = storage.slots[storage.cursor]
        storage.cursor = (storage.cursor + 1) % slotCount
        for member in due.values { member.beat() }
    }
}
