import NIOCore
import NIOEmbedded
import Testing

@testable import Gateway

@Suite("Heartbeat wheel")
struct HeartbeatWheelTests {
    /// Records when it was pinged (the loop's time, in ticks since the start).
    final class Member: HeartbeatMember {
        let name: Int
        let clock: () -> Int
        var beats: [Int] = []
        var onBeat: (() -> Void)?

        init(_ name: Int, clock: @escaping () -> Int) {
            self.name = name
            self.clock = clock
        }

        func beat() {
            beats.append(clock())
            onBeat?()
        }
    }

    /// A wheel of four slots (1 s in ticks of 250 ms) on an embedded loop, whose time the test moves.
    func makeWheel() -> (EmbeddedEventLoop, HeartbeatWheel, () -> Int) {
        let loop = EmbeddedEventLoop()
        let start = loop.now
        let wheel = HeartbeatWheel(loop: loop, interval: .seconds(1), resolution: .milliseconds(250))
        let clock = { Int((loop.now.uptimeNanoseconds - start.uptimeNanoseconds) / 250_000_000) }
        return (loop, wheel, clock)
    }

    @Test func membersOpenedTogetherAreSpreadOverTheIntervalAndPingedOncePerInterval() {
        let (loop, wheel, clock) = makeWheel()
        #expect(wheel.slotCount == 4)
        #expect(wheel.tick == .milliseconds(250))
        let members = (0..<8).map { Member($0, clock: clock) }
        for member in members { _ = wheel.join(member) }
        for _ in 0..<12 { loop.advanceTime(by: .milliseconds(250)) }
        // Three intervals: each member three times, one interval (4 ticks) apart, the first within the first interval.
        for member in members {
            #expect(member.beats.count == 3)
            #expect((1...4).contains(member.beats[0]))
            #expect(member.beats == [member.beats[0], member.beats[0] + 4, member.beats[0] + 8])
        }
        // Two of the eight per tick, never all at once.
        let firsts = Dictionary(grouping: members, by: { $0.beats[0] }).mapValues(\.count)
        #expect(firsts == [1: 2, 2: 2, 3: 2, 4: 2])
    }

    @Test func aMemberThatLeftIsNotPinged() {
        let (loop, wheel, clock) = makeWheel()
        let stays = Member(0, clock: clock)
        let goes = Member(1, clock: clock)
        let staysSlot = wheel.join(stays)
        let goesSlot = wheel.join(goes)
        wheel.leave(goes, slot: goesSlot)
        wheel.leave(goes, slot: goesSlot)  // twice: no effect
        wheel.leave(stays, slot: (staysSlot + 1) % wheel.slotCount)  // not its slot: no effect
        #expect(wheel.memberCount == 1)
        loop.advanceTime(by: .seconds(2))
        #expect(goes.beats.isEmpty)
        #expect(stays.beats.count == 2)
    }

    @Test func theTimerRunsOnlyWhileTheWheelHasMembers() {
        let (loop, wheel, clock) = makeWheel()
        #expect(!wheel.isTicking)
        let member = Member(0, clock: clock)
        let slot = wheel.join(member)
        #expect(wheel.isTicking)
        wheel.leave(member, slot: slot)
        #expect(!wheel.isTicking)
        // Back on: pinged again within one interval.
        loop.advanceTime(by: .seconds(5))
        _ = wheel.join(member)
        loop.advanceTime(by: .seconds(1))
        #expect(member.beats.count == 1)
    }

    @Test func aMemberMayLeaveWhilePinged() {
        let (loop, wheel, clock) = makeWheel()
        let members = (0..<3).map { Member($0, clock: clock) }
        var slots: [Int] = []
        for member in members { slots.append(wheel.join(member)) }
        // All three in slot 0, 1, 2; the first leaves when pinged (as a missed heartbeat closes a connection).
        members[0].onBeat = { wheel.leave(members[0], slot: slots[0]) }
        loop.advanceTime(by: .seconds(2))
        #expect(members[0].beats.count == 1)
        #expect(members[1].beats.count == 2)
        #expect(members[2].beats.count == 2)
        #expect(wheel.memberCount == 2)
    }

    @Test(arguments: [(3600, 1_024, 3_515_625_000), (1, 4, 250_000_000), (0, 1, 1)])
    func longIntervalsGetLongerTicksNotMoreSlots(seconds: Int64, slots: Int, tickNanoseconds: Int64) {
        let wheel = HeartbeatWheel(loop: EmbeddedEventLoop(), interval: .seconds(seconds))
        #expect(wheel.slotCount == slots)
        #expect(wheel.tick == .nanoseconds(tickNanoseconds))
    }
}
