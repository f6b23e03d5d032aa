import NIOCore

/// Encodes commands as RESP arrays of bulk strings straight into a
/// `ByteBuffer`: `*<argc>\r\n` then `$<len>\r\n<bytes>\r\n` per argument.
/// Binary-safe: argument bytes are copied as they are.
enum RESPEncoder {
    static func encode(_ command: RedisCommand, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(Int64(command.arguments.count), into: &buffer)
        buffer.writeStaticString("\r\n")
        for argument in command.arguments {
            buffer.writeInteger(UInt8(ascii: "$"))
            writeDecimal(Int64(argument.byteCount), into: &buffer)
            buffer.writeStaticString("\r\n")
            switch argument.storage {
            case .string(let text): buffer.writeString(text)
            case .bytes(let bytes): buffer.writeImmutableBuffer(bytes)
            case .integer(let value): writeDecimal(value, into: &buffer)
            }
            buffer.writeStaticString("\r\n")
        }
    }

    /// An upper bound of the encoded size, to reserve capacity once.
    static func estimatedSize(of command: RedisCommand) -> Int {
        var size = 16
        for argument in command.arguments { size += argument.byteCount + 24 }
        return size
    }

    /// Writes `value` in decimal ASCII without allocating a String.
    static func writeDecimal(_ value: Int64, into buffer: inout ByteBuffer) {
        if value == 0 {
            buffer.writeInteger(UInt8(ascii: "0"))
            return
        }
        // Int64.min's magnitude does not fit Int64, so work with the magnitude as UInt64.
        var magnitude = value.magnitude
        if value < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        let count = decimalDigits(magnitude)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            var index = count
            while magnitude > 0 {
                index -= 1
                raw[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            return count
        }
    }

    /// The number of characters `value` takes in decimal, sign included.
    static func decimalLength(_ value: Int64) -> Int {
        value < 0 ? decimalDigits(value.magnitude) + 1 : decimalDigits(value.magnitude)
    }

    private static func decimalDigits(_ value: UInt64) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }
}
