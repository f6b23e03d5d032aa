import NIOCore
import Testing

@testable import Redis

@Suite("RESPReader")
struct RESPReaderTests {
    /// Feeds `bytes` in one go and returns every complete reply.
    func replies(_ bytes: String, limits: RedisReplyLimits = RedisReplyLimits()) throws -> [RESPValue] {
        let reader = RESPReader(limits: limits)
        try reader.feed(ByteBuffer(string: bytes))
        var values: [RESPValue] = []
        while let value = try reader.next() { values.append(value) }
        return values
    }

    func failure(_ bytes: String, limits: RedisReplyLimits = RedisReplyLimits()) -> RedisError? {
        do {
            _ = try replies(bytes, limits: limits)
            return nil
        } catch {
            return error as? RedisError
        }
    }

    @Test func scalarReplies() throws {
        let values = try replies("+OK\r\n-ERR bad thing\r\n:42\r\n:-7\r\n$3\r\nfoo\r\n$0\r\n\r\n$-1\r\n")
        #expect(values == [
            .simpleString("OK"), .error("ERR bad thing"), .integer(42), .integer(-7),
            .bulkString(ByteBuffer(string: "foo")), .bulkString(ByteBuffer()), .bulkString(nil),
        ])
    }

    @Test func arraysAndBothKindsOfNil() throws {
        let values = try replies("*-1\r\n*0\r\n*3\r\n:1\r\n*2\r\n$-1\r\n*-1\r\n+x\r\n")
        #expect(values == [
            .array(nil), .array([]),
            .array([.integer(1), .array([.bulkString(nil), .array(nil)]), .simpleString("x")]),
        ])
        #expect(values[0].isNil && values[1].isNil == false)
    }

    @Test func bulkStringsAreBinarySafe() throws {
        let bytes = (0...255).map { UInt8($0) } + Array("\r\n$-1\r\n".utf8)
        var wire = ByteBuffer(string: "$\(bytes.count)\r\n")
        wire.writeBytes(bytes)
        wire.writeString("\r\n")
        let reader = RESPReader()
        try reader.feed(wire)
        #expect(try reader.next() == .bulkString(ByteBuffer(bytes: bytes)))
        #expect(try reader.next() == nil)
    }

    @Test func truncatedRepliesFedByteByByte() throws {
        let wire = Array("*3\r\n$5\r\nhello\r\n*2\r\n:1\r\n$-1\r\n-ERR x\r\n+PONG\r\n".utf8)
        let reader = RESPReader()
        var values: [RESPValue] = []
        var completedAt: [Int] = []
        for (index, byte) in wire.enumerated() {
            try reader.feed(ByteBuffer(bytes: [byte]))
            while let value = try reader.next() {
                values.append(value)
                completedAt.append(index)
            }
        }
        #expect(values == [
            .array([.bulkString(ByteBuffer(string: "hello")), .array([.integer(1), .bulkString(nil)]), .error("ERR x")]),
            .simpleString("PONG"),
        ])
        // Each reply completes exactly at its last byte, not before.
        #expect(completedAt == [wire.count - 8, wire.count - 1])
    }

    @Test func wrongTypeBytePoisonsTheReader() throws {
        let reader = RESPReader()
        try reader.feed(ByteBuffer(string: "+OK\r\n?what\r\n"))
        #expect(try reader.next() == .simpleString("OK"))
        #expect(throws: RedisError.self) { try reader.next() }
        let first = try #require(throwing(reader.next))
        #expect(first.code == .protocolError)
        #expect(first.message.contains("reply type byte"))
        // Poisoned: valid bytes afterwards do not bring it back.
        let again = try #require(throwing { try reader.feed(ByteBuffer(string: "+OK\r\n")) })
        #expect(again.code == .protocolError)
    }

    @Test func nestingDeeperThanHiredisAllowsIsAProtocolError() throws {
        // hiredis's read stack has 9 levels: arrays may nest 8 deep around a
        // scalar ("depth > 7" in its message counts from 0).
        let eight = String(repeating: "*1\r\n", count: 8) + ":1\r\n"
        var expected = RESPValue.integer(1)
        for _ in 0..<8 { expected = .array([expected]) }
        #expect(try replies(eight) == [expected])
        let nine = String(repeating: "*1\r\n", count: 9) + ":1\r\n"
        let error = try #require(failure(nine))
        #expect(error.code == .protocolError)
        #expect(error.message.contains("depth > 7"))
    }

    @Test func multiBulkLengthOverflow() throws {
        let error = try #require(failure("*4294967295\r\n"))
        #expect(error.code == .protocolError)
    }

    @Test func hugeDeclaredBulkLengthIsRefusedBeforeItsBytes() throws {
        let error = try #require(failure("$1000000000\r\nabc"))
        #expect(error.code == .replyTooLarge)
        // Even before the length line is complete, once its digits say so.
        let limits = RedisReplyLimits(maxBulkLength: 1000)
        let early = try #require(self.failure("*2\r\n$1\r\na\r\n$10000", limits: limits))
        #expect(early.code == .replyTooLarge)
        // The early check reads the length line, never the string's bytes:
        // a body made of digits is not taken for a length (hiredis 0.14 keeps
        // its cursor on the length line until the whole string is buffered).
        let digits = RESPReader(limits: RedisReplyLimits(maxBulkLength: 10))
        try digits.feed(ByteBuffer(string: "$5\r\n99"))
        #expect(try digits.next() == nil)
        try digits.feed(ByteBuffer(string: "999\r\n"))
        #expect(try digits.next() == .bulk("99999"))
        // At the limit is fine.
        let fits = try replies("$4\r\nabcd\r\n", limits: RedisReplyLimits(maxBulkLength: 4))
        #expect(fits == [.bulkString(ByteBuffer(string: "abcd"))])
    }

    @Test func hugeDeclaredArrayIsRefusedBeforeAllocation() throws {
        let error = try #require(failure("*2000000000\r\n"))
        #expect(error.code == .replyTooLarge)
        #expect(error.message.contains("2000000000 elements"))
        let limits = RedisReplyLimits(maxArrayElements: 2)
        #expect(try replies("*2\r\n:1\r\n:2\r\n", limits: limits) == [.array([.integer(1), .integer(2)])])
        #expect(self.failure("*1\r\n*3\r\n", limits: limits)?.code == .replyTooLarge)
    }

    @Test func replyBytesAreCountedAcrossElementsAlreadyParsed() throws {
        // Every element is small, but the reply as a whole is not.
        let limits = RedisReplyLimits(maxReplyBytes: 1000)
        let reader = RESPReader(limits: limits)
        try reader.feed(ByteBuffer(string: "*1000\r\n"))
        var refused: RedisError?
        for _ in 0..<1000 {
            do {
                try reader.feed(ByteBuffer(string: "$5\r\nhello\r\n"))
                #expect(try reader.next() == nil)
            } catch {
                refused = error
                break
            }
        }
        #expect(refused?.code == .replyTooLarge)
        // Many small complete replies are fine: the count restarts per reply.
        let many = String(repeating: "$5\r\nhello\r\n", count: 500)
        #expect(try replies(many, limits: limits).count == 500)
        // A complete reply over the limit in a single feed is refused too.
        let big = "$900\r\n" + String(repeating: "x", count: 900) + "\r\n"
        #expect(self.failure(big + big, limits: RedisReplyLimits(maxReplyBytes: 1000)) == nil)
        let whole = "*2\r\n" + big + big
        #expect(self.failure(whole, limits: RedisReplyLimits(maxReplyBytes: 1000))?.code == .replyTooLarge)
    }

    @Test func maxUnusedBufferIsHandedToHiredis() throws {
        let reader = RESPReader(limits: RedisReplyLimits(maxUnusedBuffer: 0))
        #expect(reader.maxUnusedBuffer == 0)
        #expect(RESPReader().maxUnusedBuffer == 16 * 1024)
        // With maxbuf 0 the reader keeps working across large and small replies.
        let big = "$100000\r\n" + String(repeating: "y", count: 100_000) + "\r\n"
        try reader.feed(ByteBuffer(string: big + "+OK\r\n"))
        #expect(try reader.next()?.bytes?.readableBytes == 100_000)
        #expect(try reader.next() == .simpleString("OK"))
        try reader.feed(ByteBuffer(string: ":1\r\n"))
        #expect(try reader.next() == .integer(1))
    }

    @Test(arguments: [
        ("$abc\r\n", "Bad bulk string length"),
        (":12a\r\n", "Bad integer value"),
        (":99999999999999999999\r\n", "Bad integer value"),
        ("$-5\r\n", "Bulk string length out of range"),
        ("*-9\r\n", "Multi-bulk length out of range"),
        ("$3\r\nabcde\r\n", "reply type byte"),
    ])
    func malformedInputIsAProtocolError(_ wire: String, _ message: String) throws {
        let error = try #require(failure(wire))
        #expect(error.code == .protocolError)
        #expect(error.message.contains(message))
    }

    @Test func aLineWithoutItsFullTerminatorIsIncomplete() throws {
        #expect(try replies("+OK\r").isEmpty)
        #expect(try replies("+OK\n").isEmpty)
    }

    private func throwing(_ body: () throws -> some Any) -> RedisError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? RedisError
        }
    }
}
