import NIOCore
import Testing

@testable import Redis

@Suite("RESPEncoder")
struct RESPEncoderTests {
    func encoded(_ command: RedisCommand) -> [UInt8] {
        var buffer = ByteBuffer()
        RESPEncoder.encode(command, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test func commandsAreArraysOfBulkStrings() {
        #expect(encoded(["SET", "key", "value"]) == Array("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n".utf8))
        #expect(encoded(["PING"]) == Array("*1\r\n$4\r\nPING\r\n".utf8))
        #expect(encoded(["ECHO", ""]) == Array("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n".utf8))
    }

    @Test func integersAreDecimalBulkStrings() {
        #expect(encoded(["X", 0, -1, 1234567890]) == Array("*4\r\n$1\r\nX\r\n$1\r\n0\r\n$2\r\n-1\r\n$10\r\n1234567890\r\n".utf8))
        #expect(encoded(["X", .integer(Int64.min)]) == Array("*2\r\n$1\r\nX\r\n$20\r\n-9223372036854775808\r\n".utf8))
        #expect(encoded(["X", .integer(Int64.max)]) == Array("*2\r\n$1\r\nX\r\n$19\r\n9223372036854775807\r\n".utf8))
    }

    @Test func bytesAndUnicodeAreBinarySafe() {
        let all = (0...255).map { UInt8($0) }
        let bytes = encoded(["SET", "k", .bytes(ByteBuffer(bytes: all))])
        #expect(bytes == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$256\r\n".utf8) + all + Array("\r\n".utf8))
        // Lengths count UTF-8 bytes, not characters.
        #expect(encoded(["ECHO", "héllo✓"]) == Array("*2\r\n$4\r\nECHO\r\n$9\r\nhéllo✓\r\n".utf8))
    }

    @Test func encodedCommandsParseBackThroughHiredis() throws {
        // The reader parses a request the same way it parses a reply array.
        let command: RedisCommand = ["HSET", "h", .bytes(ByteBuffer(bytes: [0, 13, 10, 255])), 42]
        var buffer = ByteBuffer()
        RESPEncoder.encode(command, into: &buffer)
        let reader = RESPReader()
        try reader.feed(buffer)
        #expect(try reader.next() == .array([
            .bulkString(ByteBuffer(string: "HSET")), .bulkString(ByteBuffer(string: "h")),
            .bulkString(ByteBuffer(bytes: [0, 13, 10, 255])), .bulkString(ByteBuffer(string: "42")),
        ]))
    }

    @Test func estimateIsAnUpperBound() {
        let command: RedisCommand = ["SET", "key", .bytes(ByteBuffer(repeating: 7, count: 100_000)), .integer(Int64.min)]
        #expect(RESPEncoder.estimatedSize(of: command) >= encoded(command).count)
    }

    @Test func commandNameAndDescriptionHideArguments() {
        let command: RedisCommand = ["auth", "user", "secret"]
        #expect(command.name == "AUTH")
        #expect(!command.description.contains("secret"))
    }
}
