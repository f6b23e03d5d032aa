import Foundation
import NIOCore
import Protocol
import Synchronization
import Testing

@testable import Hub

@Suite("TopicLog")
struct TopicLogTests {
    let epoch = "eabc123"

    func filled(capacity: Int, count: Int) -> TopicLog {
        let log = TopicLog(capacity: capacity, epoch: epoch, now: .now)
        for _ in 0..<count { _ = log.append(draft("operation:op_1:progress"), at: .now, deliver: { _ in }) }
        return log
    }

    func positions(_ page: HistoryPage) -> [UInt64] {
        page.events.map(\.offset.major)
    }

    @Test("append gives increasing offsets in the epoch and delivers each event in order")
    func appendOrder() throws {
        let log = TopicLog(capacity: 4, epoch: epoch, now: .now)
        let delivered = Mutex<[Offset]>([])
        var returned: [Offset] = []
        for n in 0..<6 {
            let appended = log.append(draft("operation:op_1:progress", data: ["n": .number(Double(n))]), at: .now) { event in
                delivered.withLock { $0.append(event.offset) }
            }
            let event = try #require(appended)
            #expect(event.data == ["n": .number(Double(n))])
            returned.append(event.offset)
        }
        #expect(returned == (1...6).map { Offset(epoch: epoch, major: UInt64($0)) })
        #expect(delivered.withLock { $0 } == returned)
        #expect(log.lastEvent?.offset == Offset(epoch: epoch, major: 6))
    }

    @Test("after the latest offset: empty and complete")
    func afterLatest() {
        let log = filled(capacity: 10, count: 5)
        let page = log.read(after: Offset(epoch: epoch, major: 5), limit: 100)
        #expect(page.complete)
        #expect(page.events.isEmpty)
        #expect(page.latest == Offset(epoch: epoch, major: 5))
        #expect(!page.truncated)
    }

    @Test("after an offset still in the ring: every later event")
    func inRing() {
        let log = filled(capacity: 10, count: 8)
        let page = log.read(after: Offset(epoch: epoch, major: 3), limit: 100)
        #expect(page.complete)
        #expect(positions(page) == [4, 5, 6, 7, 8])
        // Position 0 of this epoch is the start of the topic.
        #expect(positions(log.read(after: Offset(epoch: epoch, major: 0), limit: 100)) == Array(1...8))
    }

    @Test("from an offset trimmed out of the ring: resync; from the one just before the ring: complete")
    func trimmed() {
        let log = filled(capacity: 3, count: 10)  // ring holds 8, 9, 10
        let gone = log.read(after: Offset(epoch: epoch, major: 6), limit: 100)
        #expect(!gone.complete)
        #expect(gone.events.isEmpty)
        #expect(gone.latest == Offset(epoch: epoch, major: 10))
        #expect(!log.read(after: Offset(epoch: epoch, major: 0), limit: 100).complete)

        let edge = log.read(after: Offset(epoch: epoch, major: 7), limit: 100)
        #expect(edge.complete)
        #expect(positions(edge) == [8, 9, 10])
    }

    @Test("an offset of another epoch, in the future, or with a minor part: resync")
    func invalidOffsets() {
        let log = filled(capacity: 10, count: 5)
        for offset in [
            Offset(epoch: "eother", major: 2), Offset(epoch: "eother", major: 5), Offset(epoch: epoch, major: 6),
            Offset(epoch: epoch, major: 2, minor: 1),
        ] {
            let page = log.read(after: offset, limit: 100)
            #expect(!page.complete, "offset \(offset)")
            #expect(page.events.isEmpty, "offset \(offset)")
            #expect(page.latest == Offset(epoch: epoch, major: 5))
        }
    }

    @Test("nil: from the start of what history still holds")
    func fromStart() {
        #expect(positions(filled(capacity: 10, count: 4).read(after: nil, limit: 100)) == [1, 2, 3, 4])
        let trimmed = filled(capacity: 3, count: 7).read(after: nil, limit: 100)
        #expect(trimmed.complete)
        #expect(positions(trimmed) == [5, 6, 7])
        let empty = TopicLog(capacity: 3, epoch: epoch, now: .now).read(after: nil, limit: 100)
        #expect(empty.complete)
        #expect(empty.events.isEmpty)
        #expect(empty.latest == nil)
    }

    @Test("limit cuts the page short and says so")
    func limit() {
        let log = filled(capacity: 10, count: 9)
        let page = log.read(after: Offset(epoch: epoch, major: 2), limit: 3)
        #expect(page.complete)
        #expect(page.truncated)
        #expect(positions(page) == [3, 4, 5])
        let exact = log.read(after: Offset(epoch: epoch, major: 6), limit: 3)
        #expect(!exact.truncated)
        #expect(positions(exact) == [7, 8, 9])
    }

    @Test("capacity 0 keeps offsets and the last event but no history")
    func noHistory() {
        let log = filled(capacity: 0, count: 3)
        #expect(log.lastEvent?.offset == Offset(epoch: epoch, major: 3))
        #expect(log.read(after: Offset(epoch: epoch, major: 3), limit: 10).complete)
        #expect(!log.read(after: Offset(epoch: epoch, major: 2), limit: 10).complete)
    }

    @Test("retire: only when idle since the cutoff (inclusive); a retired log takes no more events")
    func retire() {
        let start = ContinuousClock.now
        let log = TopicLog(capacity: 4, epoch: epoch, now: start)
        _ = log.append(draft("operation:op_1:progress"), at: start + .seconds(5), deliver: { _ in })
        #expect(!log.retire(ifIdleSince: start + .seconds(4)))
        #expect(log.retire(ifIdleSince: start + .seconds(5)))
        var delivered = 0
        #expect(log.append(draft("operation:op_1:progress"), at: start + .seconds(6), deliver: { _ in delivered += 1 }) == nil)
        #expect(delivered == 0)
        #expect(log.lastEvent?.offset == Offset(epoch: epoch, major: 1))
    }
}
