import Foundation
import GRDB

extension SQLiteOperationStore {
    public func expiredHeartbeats(at now: Date, limit: Int) async throws -> [OperationRef] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT tenant, id FROM operations
                    WHERE heartbeat_deadline IS NOT NULL AND heartbeat_deadline <= ?
                    ORDER BY heartbeat_deadline, id LIMIT ?
                    """, arguments: [now.millisecondsSince1970, limit]
            ).map { OperationRef(tenant: $0["tenant"], id: $0["id"]) }
        }
    }

    public func purgeFinished(before date: Date, limit: Int) async throws -> [OperationRef] {
        try await write { db in
            let refs = try Row.fetchAll(
                db,
                sql: """
                    SELECT tenant, id FROM operations
                    WHERE completed_at IS NOT NULL AND completed_at < ?
                        AND status IN ('succeeded', 'failed', 'cancelled')
                    ORDER BY completed_at, id LIMIT ?
                    """, arguments: [date.millisecondsSince1970, limit]
            ).map { OperationRef(tenant: $0["tenant"], id: $0["id"]) }
            for ref in refs { try Self.deleteRows(db, ref) }
            return refs
        }
    }

    /// Checks the file and the store's invariants: SQLite's integrity check,
    /// every row's body agreeing with its columns and with the model's rules,
    /// and every log holding exactly the sequence numbers it should. Returns
    /// the problems found (empty: consistent).
    public func consistencyProblems(logCap: Int) async throws -> [String] {
        try await read { db in
            var problems: [String] = []
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            if integrity != ["ok"] { problems.append("integrity_check: \(integrity.joined(separator: "; "))") }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM operations") {
                let id: String = row["id"]
                let op: OperationRecord
                do {
                    op = try Self.decode(row["body"])
                } catch {
                    problems.append("\(id): unreadable body")
                    continue
                }
                problems += Self.ruleProblems(op, row: row)
                let sequences = try Int.fetchAll(
                    db, sql: "SELECT sequence FROM operation_logs WHERE tenant = ? AND operation_id = ? ORDER BY sequence",
                    arguments: [op.tenant, op.id])
                let expectedFirst = op.droppedLogLines + 1
                if sequences != Array(stride(from: expectedFirst, through: op.logSequence, by: 1)) {
                    problems.append(
                        "\(id): log holds \(sequences.first ?? 0)…\(sequences.last ?? 0) (\(sequences.count) lines), expected \(expectedFirst)…\(op.logSequence)")
                }
                if sequences.count > max(logCap, 0) { problems.append("\(id): \(sequences.count) log lines over the cap \(logCap)") }
            }
            let orphans = try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM operation_logs l
                    WHERE NOT EXISTS (SELECT 1 FROM operations o WHERE o.tenant = l.tenant AND o.id = l.operation_id)
                    """) ?? 0
            if orphans > 0 { problems.append("\(orphans) log lines of no operation") }
            return problems
        }
    }

    static func ruleProblems(_ op: OperationRecord, row: Row) -> [String] {
        var problems: [String] = []
        let id = op.id
        if row["status"] as String != op.status.rawValue { problems.append("\(id): status column disagrees with body") }
        if row["version"] as Int != op.version { problems.append("\(id): version column disagrees with body") }
        if row["progress"] as Int != op.progress { problems.append("\(id): progress column disagrees with body") }
        if row["log_sequence"] as Int != op.logSequence { problems.append("\(id): log_sequence column disagrees with body") }
        if !(0...100).contains(op.progress) { problems.append("\(id): progress \(op.progress)") }
        if op.version < 1 { problems.append("\(id): version \(op.version)") }
        if op.status.isTerminal != (op.completedAt != nil) { problems.append("\(id): completed_at and status disagree") }
        if op.status != .pending, op.status != .cancelled, op.status != .failed, op.startedAt == nil {
            problems.append("\(id): \(op.status) without started_at")
        }
        if let stage = op.currentStage, !op.stages.isEmpty, !op.stages.contains(stage) {
            problems.append("\(id): current_stage not in stages")
        }
        if op.droppedLogLines > op.logSequence { problems.append("\(id): more lines dropped than appended") }
        return problems
    }
}

extension SQLiteOperationStore {
    /// SQLite's plan for a list query's page (`EXPLAIN QUERY PLAN` details), to check that indexes serve the filters.
    func queryPlan(for query: OperationQuery) async throws -> [String] {
        let (whereClause, arguments) = Self.filter(query)
        var pageArguments = arguments
        pageArguments += [query.perPage, 0]
        let planArguments = pageArguments
        return try await read { db in
            try Row.fetchAll(
                db,
                sql: "EXPLAIN QUERY PLAN SELECT body FROM operations WHERE \(whereClause) ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                arguments: planArguments
            ).map { $0["detail"] as String }
        }
    }

    /// Runs raw SQL in a write transaction (tests that break a row on purpose).
    func executeForTesting(_ sql: String) async throws {
        try await write { db in try db.execute(sql: sql) }
    }
}
