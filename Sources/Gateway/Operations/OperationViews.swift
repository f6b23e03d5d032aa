import Foundation
import NIOCore
import Operations
import Protocol

/// A log line as REST returns it.
struct LogLineView: Encodable, Sendable {
    var sequence: Int
    var timestamp: String
    var text: String

    init(_ line: LogLine) {
        sequence = line.sequence
        timestamp = Timestamp.format(line.timestamp)
        text = line.text
    }
}

/// `GET /operations/{id}/logs`.
struct LogPageView: Encodable, Sendable {
    var operationID: String
    var lines: [LogLineView]
    var lastSequence: Int
    var dropped: Int
    var gap: Bool
    var hasMore: Bool
    /// What to pass as `after` next.
    var nextAfter: Int

    init(operationID: String, page: LogPage, after: Int) {
        self.operationID = operationID
        lines = page.lines.map(LogLineView.init)
        lastSequence = page.lastSequence
        dropped = page.dropped
        gap = page.gap
        hasMore = page.hasMore
        nextAfter = page.lines.last?.sequence ?? max(after, page.gap ? page.dropped : after)
    }

    enum CodingKeys: String, CodingKey {
        case operationID = "operation_id"
        case lines
        case lastSequence = "last_sequence"
        case dropped, gap
        case hasMore = "has_more"
        case nextAfter = "next_after"
    }
}

/// `POST /operations/{id}/logs`.
struct AppendedLogsView: Encodable, Sendable {
    var operationID: String
    var lines: [LogLineView]
    var lastSequence: Int
    var dropped: Int
    var version: Int

    enum CodingKeys: String, CodingKey {
        case operationID = "operation_id"
        case lines
        case lastSequence = "last_sequence"
        case dropped, version
    }
}

/// `DELETE /operations/{id}`.
struct DeletedOperationView: Encodable, Sendable {
    var operationID: String
    var deleted = true

    enum CodingKeys: String, CodingKey {
        case operationID = "operation_id"
        case deleted
    }
}

/// One line of `logs?follow=true` (NDJSON): `line`, `gap`, `keepalive`, `end` or `shutdown`.
struct LogStreamItem: Encodable, Sendable {
    var type: String
    var sequence: Int?
    var timestamp: String?
    var text: String?
    var dropped: Int?
    var status: String?
    var lastSequence: Int?

    static func line(_ line: LogLine) -> LogStreamItem {
        LogStreamItem(type: "line", sequence: line.sequence, timestamp: Timestamp.format(line.timestamp), text: line.text)
    }

    enum CodingKeys: String, CodingKey {
        case type, sequence, timestamp, text, dropped, status
        case lastSequence = "last_sequence"
    }

    func encoded() -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        var data = (try? encoder.encode(self)) ?? Data(#"{"type":"error"}"#.utf8)
        data.append(UInt8(ascii: "\n"))
        return ByteBuffer(bytes: data)
    }
}
