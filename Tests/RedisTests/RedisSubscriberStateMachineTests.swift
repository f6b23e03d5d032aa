import NIOCore
import Testing

@testable import Redis

@Suite("RedisSubscriberStateMachine")
struct RedisSubscriberStateMachineTests {
    typealias Machine = RedisSubscriberStateMachine

    /// The commands the machine handed to the connection, as text.
    struct Wire {
        let stream: AsyncStream<RedisCommand>
        let writer: AsyncStream<RedisCommand>.Continuation
        init() { (stream, writer) = AsyncStream.makeStream(of: RedisCommand.self) }

        func drain() async -> [String] {
            writer.finish()
            var sent: [String] = []
            for await command in stream { sent.append(command.arguments.map(\.description).joined(separator: " ")) }
            return sent
        }
    }

    static func confirmation(_ kind: String, _ name: String, _ count: Int64 = 1) -> RESPValue {
        .array([.bulk(kind), .bulk(name), .integer(count)])
    }

    @Test func restoresEverySubscriptionAndAnnouncesOnce() async {
        var machine = Machine()
        _ = machine.start()
        // Before the first connection these wait (no waiter here: they are only recorded).
        machine.record(.subscribe, ["b", "a"])
        machine.record(.psubscribe, ["p.*"])
        let wire = Wire()
        let result1 = machine.connected(wire.writer)
        #expect(result1.events.isEmpty)
        #expect(await wire.drain() == ["SUBSCRIBE a b", "PSUBSCRIBE p.*"])
        let result2 = machine.received(Self.confirmation("subscribe", "a"))
        #expect(result2.events.isEmpty)
        let result3 = machine.received(Self.confirmation("subscribe", "b", 2))
        #expect(result3.events.isEmpty)
        #expect(!machine.isConnected)
        let result4 = machine.received(Self.confirmation("psubscribe", "p.*", 3))
        #expect(result4.events == [.connected])
        #expect(machine.isConnected)
        // Messages.
        let message = machine.received(.array([.bulk("message"), .bulk("a"), .bulk("hi")]))
        #expect(message.events == [.message(RedisPubSubMessage(channel: "a", payload: ByteBuffer(string: "hi")))])
        let pmessage = machine.received(.array([.bulk("pmessage"), .bulk("p.*"), .bulk("p.x"), .bulk("yo")]))
        #expect(pmessage.events == [.message(RedisPubSubMessage(channel: "p.x", pattern: "p.*", payload: ByteBuffer(string: "yo")))])
        // Lost: announced once; reconnect restores and says "resubscribed".
        let lost = machine.disconnected(.connectionClosed())
        #expect(lost.events == [.disconnected(.connectionClosed())])
        let result5 = machine.disconnected(RedisError(.connectionFailed, "refused"))
        #expect(result5.events.isEmpty)
        let again = Wire()
        _ = machine.connected(again.writer)
        _ = machine.received(Self.confirmation("subscribe", "a"))
        _ = machine.received(Self.confirmation("subscribe", "b"))
        let result6 = machine.received(Self.confirmation("psubscribe", "p.*"))
        #expect(result6.events == [.resubscribed])
    }

    @Test func withNothingToRestoreTheConnectionIsUpAtOnce() {
        var machine = Machine()
        _ = machine.start()
        let result7 = machine.connected(Wire().writer)
        #expect(result7.events == [.connected])
        #expect(machine.isConnected)
    }

    @Test func outOfOrderConfirmationsAreViolations() {
        var machine = Machine()
        _ = machine.start()
        machine.record(.subscribe, ["a"])
        _ = machine.connected(Wire().writer)
        let result8 = machine.received(Self.confirmation("subscribe", "zzz"))
        #expect(result8.violation?.code == .protocolError)
        let result9 = machine.received(Self.confirmation("unsubscribe", "a"))
        #expect(result9.violation?.code == .protocolError)
        let result10 = machine.received(.integer(1))
        #expect(result10.violation?.code == .protocolError)
        #expect(machine.received(.array([.bulk("message"), .bulk("a")])).violation?.code == .protocolError)
        let result11 = machine.received(.simpleString("PONG"))
        #expect(result11.violation == nil)
    }

    @Test func pingDetectsADeadConnection() async {
        var machine = Machine()
        _ = machine.start()
        let wire = Wire()
        _ = machine.connected(wire.writer)
        let result12 = machine.ping()
        #expect(result12)
        #expect(machine.received(.array([.bulk("pong"), .bulk("")])).violation == nil)
        let result13 = machine.ping()
        #expect(result13)
        let result14 = machine.ping()
        #expect(!result14)  // the previous PING is still unanswered
        #expect(await wire.drain() == ["PING", "PING"])
    }

    @Test func whileDownSubscribeFailsButIsKeptAndUnsubscribeSucceeds() {
        var machine = Machine()
        _ = machine.start()
        _ = machine.disconnected(RedisError(.connectionFailed, "refused"))
        let result15 = machine.record(.subscribe, ["x"])
        #expect(result15 == .fail(.notConnected("Redis is not reachable; the subscription is kept and made when it is back")))
        #expect(machine.channels == ["x"])
        let result16 = machine.record(.unsubscribe, ["x"])
        #expect(result16 == .done)
        #expect(machine.channels == [])
    }
}

extension RedisSubscriberStateMachine {
    /// `request` without a waiter: only the bookkeeping is observed.
    @discardableResult
    mutating func record(_ kind: Kind, _ names: [String]) -> RequestAction {
        request(kind, names, waiter: nil, id: makeWaiterID(), cancelled: false)
    }
}
