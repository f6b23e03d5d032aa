import Logging
import NIOCore
import Protocol
import Redis
import Testing

@testable import Hub

/// The all-or-nothing rule of Redis history, given what the history script saw.
@Suite("RedisTopicStore.decide")
struct RedisTopicStoreTests {
    let store: RedisTopicStore
    let k = key("operation:op_1:progress")

    init() throws {
        // Never run: `decide` does no I/O.
        let client = try RedisClient(configuration: RedisConfiguration(), logger: busTestLogger)
        store = RedisTopicStore(
            client: client, keys: try RedisKeySpace(), historyLength: 4, topicTTL: nil, placeholderTTL: .seconds(60),
            metrics: .discarding, logger: busTestLogger)
    }

    func body(_ n: Int) -> ByteBuffer {
        ByteBuffer(bytes: RedisEventCodec.encode(draft("operation:op_1:progress", data: ["n": .number(Double(n))])))
    }

    /// Entries 10-0 … 14-0, of which the first held is `first`; trimmed up to `floor`.
    func state(epoch: String? = "rx", created: Bool = true, first: UInt64 = 10, floor: StreamID = .zero, deleted: StreamID = .zero)
        -> RedisTopicStore.HistoryState
    {
        RedisTopicStore.HistoryState(
            epoch: epoch, created: created, last: StreamID(ms: 14, seq: 0), maxDeleted: deleted, floor: floor,
            entries: (first...14).map { ("\($0)-0", body(Int($0))) })
    }

    func offset(_ ms: UInt64, epoch: String = "rx") -> Offset { Offset(epoch: epoch, major: ms, minor: 0) }

    @Test("complete after an offset not before the trim floor; resync before it")
    func floor() {
        let trimmed = state(first: 12, floor: StreamID(ms: 11, seq: 0))
        let edge = store.decide(trimmed, key: k, after: offset(11), limit: 10)
        #expect(edge.complete)
        #expect(edge.events.map(\.offset.major) == [12, 13, 14])
        #expect(store.decide(trimmed, key: k, after: offset(10), limit: 10) == .resync(latest: offset(14)))
        // From the start: what is held.
        #expect(store.decide(trimmed, key: k, after: nil, limit: 10).events.count == 3)
    }

    @Test("an entry deleted after the offset, another epoch, or an offset after the latest: resync")
    func resyncs() {
        #expect(store.decide(state(deleted: StreamID(ms: 12, seq: 0)), key: k, after: offset(11), limit: 10) == .resync(latest: offset(14)))
        #expect(store.decide(state(), key: k, after: offset(11, epoch: "ry"), limit: 10) == .resync(latest: offset(14)))
        #expect(store.decide(state(), key: k, after: offset(15), limit: 10) == .resync(latest: offset(14)))
        var caughtUp = state()
        caughtUp.entries = []  // what XRANGE after the latest returns
        #expect(store.decide(caughtUp, key: k, after: offset(14), limit: 10) == HistoryPage(events: [], complete: true, latest: offset(14)))
    }

    @Test("limits: truncated when more entries came back than asked for")
    func limits() {
        let page = store.decide(state(first: 12), key: k, after: offset(11), limit: 2)
        #expect(page.events.map(\.offset.major) == [12, 13])
        #expect(page.truncated)
        #expect(page.complete)
    }

    @Test("without a stream: complete only at the start of an epoch whose stream was never created")
    func noStream() {
        let placeholder = RedisTopicStore.HistoryState(epoch: "rx", created: false, last: nil, maxDeleted: .zero, floor: .zero, entries: [])
        #expect(store.decide(placeholder, key: k, after: Offset(epoch: "rx", major: 0), limit: 10) == HistoryPage(events: [], complete: true, latest: nil))
        #expect(store.decide(placeholder, key: k, after: offset(3), limit: 10) == .resync(latest: nil))
        var lost = placeholder
        lost.created = true
        #expect(store.decide(lost, key: k, after: Offset(epoch: "rx", major: 0), limit: 10) == .resync(latest: nil))
        #expect(store.decide(lost, key: k, after: nil, limit: 10) == HistoryPage(events: [], complete: true, latest: nil))
        let none = RedisTopicStore.HistoryState(epoch: nil, created: false, last: nil, maxDeleted: .zero, floor: .zero, entries: [])
        #expect(store.decide(none, key: k, after: nil, limit: 10) == HistoryPage(events: [], complete: true, latest: nil))
        #expect(store.decide(none, key: k, after: offset(1), limit: 10) == .resync(latest: nil))
    }

    @Test("an entry that is not an event makes the page incomplete")
    func malformedEntry() {
        var broken = state(first: 12)
        broken.entries[1].body = ByteBuffer(string: "{nope")
        #expect(store.decide(broken, key: k, after: offset(11), limit: 10) == .resync(latest: offset(14)))
    }

    @Test("the codec: stored events and messages round-trip; foreign offsets are refused")
    func codec() throws {
        let event = draft("operation:op_1:progress", data: ["a": [1, "x", nil]], teamID: "ops").with(offset: Offset(epoch: "rx", major: 5, minor: 2))
        var message = ByteBuffer(string: "\(event.offset) ")
        message.writeBytes(RedisEventCodec.encode(EventDraft(tenant: event.tenant, topic: event.topic, event: event.event, data: event.data, teamID: event.teamID, timestamp: event.timestamp)))
        #expect(try RedisEventCodec.decode(message: message) == event)
        #expect(throws: RedisEventCodec.DecodingError.self) { try RedisEventCodec.decode(message: ByteBuffer(string: "e1:5 {}")) }
        #expect(throws: RedisEventCodec.DecodingError.self) { try RedisEventCodec.decode(message: ByteBuffer(string: "rx:5-0")) }
        #expect(StreamID("12-3") == StreamID(ms: 12, seq: 3))
        #expect(StreamID("12") == StreamID(ms: 12, seq: 0))
        #expect(StreamID("x-1") == nil)
        #expect(StreamID(ms: 1, seq: 9) < StreamID(ms: 2, seq: 0))
    }
}
