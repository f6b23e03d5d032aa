import Foundation
import GRDB

extension SQLiteOperationStore {
    /// Inserts `lines` and drops the lines beyond the cap (inside the caller's transaction).
    static func appendLines(_ db: Database, _ op: OperationRecord, _ lines: [LogLine], logCap: Int) throws {
        guard !lines.isEmpty else { return }
        let statement = try db.cachedStatement(
            sql: "INSERT INTO operation_logs (tenant, operation_id, sequence, at, text) VALUES (?, ?, ?, ?, ?)")
        for line in lines {
            try statement.execute(arguments: [op.tenant, op.id, line.sequence, line.timestamp.millisecondsSince1970, line.text])
        }
        try db.execute(
            sql: "DELETE FROM operation_logs WHERE tenant = ? AND operation_id = ? AND sequence <= ?",
            arguments: [op.tenant, op.id, op.logSequence - max(logCap, 0)])
    }

    public func logs(_ ref: OperationRef, after: Int, limit: Int) async throws -> LogPage {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT log_sequence, dropped_log_lines FROM operations WHERE tenant = ? AND id = ?",
                    arguments: [ref.tenant, ref.id])
            else { throw OperationError.notFound(ref.id) }
            let lastSequence: Int = row["log_sequence"]
            let dropped: Int = row["dropped_log_lines"]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT sequence, at, text FROM operation_logs
                    WHERE tenant = ? AND operation_id = ? AND sequence > ? ORDER BY sequence LIMIT ?
                    """, arguments: [ref.tenant, ref.id, after, max(limit, 0) + 1])
            let lines = rows.prefix(max(limit, 0)).map { row in
                LogLine(sequence: row["sequence"], timestamp: Date(millisecondsSince1970: row["at"]), text: row["text"])
            }
            return LogPage(
                lines: Array(lines), lastSequence: lastSequence, dropped: dropped, gap: after < dropped,
                hasMore: rows.count > lines.count)
        }
    }
}
