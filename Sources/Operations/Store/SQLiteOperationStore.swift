import Foundation
import GRDB

/// The embedded `OperationStore`: one SQLite file (`operations.sqlite` in the
/// data directory) opened as a GRDB `DatabasePool` in WAL mode, so reads run
/// in parallel with the single writer. Every write is one `IMMEDIATE`
/// transaction: the version guard, the new row, the log lines and the log
/// trim commit together or not at all, and a crash in the middle leaves the
/// previous state (WAL recovery on the next open).
///
/// `synchronous = NORMAL` in WAL mode: a committed write survives a crash of
/// the process; only a power loss may lose the last transactions.
public final class SQLiteOperationStore: OperationStore {
    let pool: DatabasePool
    public let path: String

    /// Opens (creating if needed) the store at `path` and migrates it.
    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw OperationError.unavailable("cannot open \(path): \(error)")
        }
    }

    /// Opens the store in a data directory: `<dataDir>/operations.sqlite`.
    public convenience init(dataDirectory: String) throws {
        try self.init(path: (dataDirectory as NSString).appendingPathComponent("operations.sqlite"))
    }

    /// One hub process per data directory: nobody else writes this file.
    public var isShared: Bool { false }

    /// One process: the service's own lock suffices.
    public func withWriteLock<T>(_ ref: OperationRef, _ body: () async throws -> T) async throws -> T { try await body() }

    public func isReady() async -> Bool {
        (try? await read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    // MARK: Access helpers

    /// One write transaction (`BEGIN IMMEDIATE`); errors other than `OperationError` become `unavailable`.
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try updates(db)
                    return .commit
                }
                // `inTransaction` ran the closure to completion (else it threw).
                return result!
            }
        } catch let error as OperationError {
            throw error
        } catch {
            throw OperationError.unavailable("\(error)")
        }
    }

    func read<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(value)
        } catch let error as OperationError {
            throw error
        } catch {
            throw OperationError.unavailable("\(error)")
        }
    }

    static func encode(_ operation: OperationRecord) throws -> String {
        String(decoding: try JSONEncoder().encode(operation), as: UTF8.self)
    }

    static func decode(_ body: String) throws -> OperationRecord {
        try JSONDecoder().decode(OperationRecord.self, from: Data(body.utf8))
    }

    static func row(_ op: OperationRecord) throws -> StatementArguments {
        [
            "tenant": op.tenant, "id": op.id, "type": op.type, "target_kind": op.target.kind, "target_id": op.target.id,
            "team_id": op.teamID, "status": op.status.rawValue, "progress": op.progress, "version": op.version,
            "created_at": op.createdAt.millisecondsSince1970, "completed_at": op.completedAt?.millisecondsSince1970,
            "heartbeat_deadline": op.heartbeatDeadline?.millisecondsSince1970, "log_sequence": op.logSequence,
            "dropped_log_lines": op.droppedLogLines, "body": try encode(op),
        ]
    }

    /// The stored version, or `nil` when the operation does not exist.
    static func version(_ db: Database, _ ref: OperationRef) throws -> Int? {
        try Int.fetchOne(db, sql: "SELECT version FROM operations WHERE tenant = ? AND id = ?", arguments: [ref.tenant, ref.id])
    }

    static func guardVersion(_ db: Database, _ ref: OperationRef, expected: Int) throws {
        guard let stored = try version(db, ref) else { throw OperationError.notFound(ref.id) }
        guard stored == expected else {
            throw OperationError(.conflict, "operation \(ref.id) changed (version \(stored))")
        }
    }

    // MARK: Operations

    public func insert(_ operation: OperationRecord, completing key: IdempotencyKey?) async throws {
        let arguments = try Self.row(operation)
        let body = try Self.encode(operation)
        try await write { db in
            guard try Self.version(db, operation.ref) == nil else {
                throw OperationError(.conflict, "operation \(operation.id) already exists")
            }
            try db.execute(
                sql: """
                    INSERT INTO operations (tenant, id, type, target_kind, target_id, team_id, status, progress, version,
                        created_at, completed_at, heartbeat_deadline, log_sequence, dropped_log_lines, body)
                    VALUES (:tenant, :id, :type, :target_kind, :target_id, :team_id, :status, :progress, :version,
                        :created_at, :completed_at, :heartbeat_deadline, :log_sequence, :dropped_log_lines, :body)
                    """, arguments: arguments)
            if let key {
                try db.execute(
                    sql: "UPDATE idempotency_keys SET operation = ? WHERE tenant = ? AND caller = ? AND key = ?",
                    arguments: [body, key.tenant, key.caller, key.key])
            }
        }
    }

    public func operation(_ ref: OperationRef) async throws -> OperationRecord? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT body FROM operations WHERE tenant = ? AND id = ?", arguments: [ref.tenant, ref.id])
                .map(Self.decode)
        }
    }

    public func list(_ query: OperationQuery) async throws -> OperationPage {
        let (whereClause, arguments) = Self.filter(query)
        let perPage = max(query.perPage, 0)
        let offset = max(query.page - 1, 0) * perPage
        return try await read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM operations WHERE \(whereClause)", arguments: arguments) ?? 0
            var pageArguments = arguments
            pageArguments += [perPage, offset]
            let bodies = try String.fetchAll(
                db, sql: "SELECT body FROM operations WHERE \(whereClause) ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                arguments: pageArguments)
            return OperationPage(operations: try bodies.map(Self.decode), total: total, page: query.page, perPage: query.perPage)
        }
    }

    /// The `WHERE` clause of a list query (every filter is a column of one of the indexes).
    static func filter(_ query: OperationQuery) -> (String, StatementArguments) {
        var clauses = ["tenant = ?"]
        var arguments: StatementArguments = [query.tenant]
        if !query.statuses.isEmpty {
            let statuses = query.statuses.map(\.rawValue).sorted()
            clauses.append("status IN (\(statuses.map { _ in "?" }.joined(separator: ",")))")
            arguments += StatementArguments(statuses)
        }
        if let type = query.type {
            clauses.append("type = ?")
            arguments += [type]
        }
        if let kind = query.targetKind {
            clauses.append("target_kind = ?")
            arguments += [kind]
        }
        if let id = query.targetID {
            clauses.append("target_id = ?")
            arguments += [id]
        }
        if let team = query.teamID {
            clauses.append("team_id = ?")
            arguments += [team]
        }
        if let teams = query.visibleTeams {
            if teams.isEmpty {
                clauses.append("0")
            } else {
                let sorted = teams.sorted()
                clauses.append("team_id IN (\(sorted.map { _ in "?" }.joined(separator: ",")))")
                arguments += StatementArguments(sorted)
            }
        }
        return (clauses.joined(separator: " AND "), arguments)
    }

    public func replace(_ operation: OperationRecord, expectedVersion: Int, appending lines: [LogLine], logCap: Int) async throws {
        let arguments = try Self.row(operation)
        try await write { db in
            try Self.guardVersion(db, operation.ref, expected: expectedVersion)
            try db.execute(
                sql: """
                    UPDATE operations SET type = :type, target_kind = :target_kind, target_id = :target_id,
                        team_id = :team_id, status = :status, progress = :progress, version = :version,
                        created_at = :created_at, completed_at = :completed_at, heartbeat_deadline = :heartbeat_deadline,
                        log_sequence = :log_sequence, dropped_log_lines = :dropped_log_lines, body = :body
                    WHERE tenant = :tenant AND id = :id
                    """, arguments: arguments)
            try Self.appendLines(db, operation, lines, logCap: logCap)
        }
    }

    public func touch(_ ref: OperationRef, heartbeatAt: Date, expectedVersion: Int) async throws {
        try await write { db in
            try Self.guardVersion(db, ref, expected: expectedVersion)
            guard
                let body = try String.fetchOne(
                    db, sql: "SELECT body FROM operations WHERE tenant = ? AND id = ?", arguments: [ref.tenant, ref.id])
            else { throw OperationError.notFound(ref.id) }
            var op = try Self.decode(body)
            op.lastHeartbeatAt = heartbeatAt
            try db.execute(
                sql: "UPDATE operations SET heartbeat_deadline = ?, body = ? WHERE tenant = ? AND id = ?",
                arguments: [op.heartbeatDeadline?.millisecondsSince1970, try Self.encode(op), ref.tenant, ref.id])
        }
    }

    public func delete(_ ref: OperationRef, expectedVersion: Int) async throws {
        try await write { db in
            try Self.guardVersion(db, ref, expected: expectedVersion)
            try Self.deleteRows(db, ref)
        }
    }

    static func deleteRows(_ db: Database, _ ref: OperationRef) throws {
        try db.execute(sql: "DELETE FROM operations WHERE tenant = ? AND id = ?", arguments: [ref.tenant, ref.id])
        try db.execute(sql: "DELETE FROM operation_logs WHERE tenant = ? AND operation_id = ?", arguments: [ref.tenant, ref.id])
    }

    public func scan(after cursor: OperationRef?, limit: Int) async throws -> [OperationRecord] {
        try await read { db in
            let bodies: [String]
            if let cursor {
                bodies = try String.fetchAll(
                    db, sql: "SELECT body FROM operations WHERE (tenant, id) > (?, ?) ORDER BY tenant, id LIMIT ?",
                    arguments: [cursor.tenant, cursor.id, limit])
            } else {
                bodies = try String.fetchAll(db, sql: "SELECT body FROM operations ORDER BY tenant, id LIMIT ?", arguments: [limit])
            }
            return try bodies.map(Self.decode)
        }
    }
}
