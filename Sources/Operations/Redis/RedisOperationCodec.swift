import Foundation
import NIOCore
import Redis

/// How operations and log lines are written to and read from Redis
/// (pure: no I/O). The body is the wire JSON, the same `Codable` form the
/// SQLite store keeps; the other hash fields are copies for the indexes, the
/// guards and the sweeps (see `RedisOperationKeys`).
enum RedisOperationCodec {
    /// The 14 "fields" arguments of the insert and replace scripts.
    static func fieldArguments(_ op: OperationRecord) throws(OperationError) -> [RedisArgument] {
        let body: Data
        do {
            body = try JSONEncoder().encode(op)
        } catch {
            throw OperationError.unavailable("cannot encode operation \(op.id): \(error)")
        }
        let deadline = op.heartbeatDeadline
        let completed = op.status.isTerminal ? op.completedAt : nil
        return [
            .bytes(ByteBuffer(bytes: body)),
            .integer(op.version),
            .string(op.status.rawValue),
            .string(op.type),
            .string(op.target.kind),
            .string(op.target.id),
            .string(op.teamID.map { "+" + $0 } ?? "-"),
            .integer(op.createdAt.millisecondsSince1970),
            optional(op.lastHeartbeatAt?.millisecondsSince1970),
            optional(deadline == nil ? nil : op.heartbeatTimeoutSeconds),
            .integer(op.logSequence),
            .integer(op.droppedLogLines),
            optional(deadline?.millisecondsSince1970),
            optional(completed?.millisecondsSince1970),
        ]
    }

    private static func optional(_ value: (some BinaryInteger)?) -> RedisArgument {
        value.map { .integer($0) } ?? .string("")
    }

    /// The operation from its stored body and `hb` field (which, when
    /// present, holds the latest heartbeat: `touch` writes only that field).
    static func operation(body: RESPValue, heartbeat: RESPValue) throws(OperationError) -> OperationRecord? {
        guard let buffer = body.bytes, !body.isNil else { return nil }
        var op: OperationRecord
        do {
            op = try JSONDecoder().decode(OperationRecord.self, from: Data(buffer.readableBytesView))
        } catch {
            throw OperationError.unavailable("a stored operation is unreadable: \(error)")
        }
        if let millis = heartbeat.integer { op.lastHeartbeatAt = Date(millisecondsSince1970: millis) }
        return op
    }

    /// An idempotency key's stored answer.
    static func operation(json: RESPValue) throws(OperationError) -> OperationRecord {
        guard let op = try operation(body: json, heartbeat: .bulkString(nil)) else {
            throw OperationError.unavailable("a stored idempotent answer is missing")
        }
        return op
    }

    /// A log line as a member of the log's sorted set: `<seq>\t<ms>\t<text>`
    /// (the sequence makes equal texts distinct members).
    static func member(_ line: LogLine) -> RedisArgument {
        var buffer = ByteBuffer()
        buffer.writeString("\(line.sequence)\t\(line.timestamp.millisecondsSince1970)\t")
        buffer.writeString(line.text)
        return .bytes(buffer)
    }

    static func line(_ value: RESPValue) throws(OperationError) -> LogLine {
        guard var buffer = value.bytes,
            let sequence = readNumber(&buffer), let millis = readNumber(&buffer),
            let text = buffer.readString(length: buffer.readableBytes)
        else { throw OperationError.unavailable("a stored log line is unreadable: \(value)") }
        return LogLine(sequence: Int(sequence), timestamp: Date(millisecondsSince1970: millis), text: text)
    }

    /// A decimal number up to the next tab (which is consumed).
    private static func readNumber(_ buffer: inout ByteBuffer) -> Int64? {
        guard let tab = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\t")) else { return nil }
        let length = tab - buffer.readerIndex
        guard let digits = buffer.readString(length: length), let number = Int64(digits) else { return nil }
        buffer.moveReaderIndex(forwardBy: 1)
        return number
    }
}
