import GRDB

extension SQLiteOperationStore {
    /// The schema, as numbered migrations (never edit one that shipped; add the next).
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: operations, logs, idempotency keys") { db in
            // `body` is the operation in its wire form; the other columns are
            // copies that the filters, ordering, guards and sweeps use.
            try db.execute(
                sql: """
                    CREATE TABLE operations (
                        tenant TEXT NOT NULL,
                        id TEXT NOT NULL,
                        type TEXT NOT NULL,
                        target_kind TEXT NOT NULL,
                        target_id TEXT NOT NULL,
                        team_id TEXT,
                        status TEXT NOT NULL CHECK (status IN
                            ('pending','in_progress','cancelling','succeeded','failed','cancelled')),
                        progress INTEGER NOT NULL CHECK (progress BETWEEN 0 AND 100),
                        version INTEGER NOT NULL CHECK (version >= 1),
                        created_at INTEGER NOT NULL,
                        completed_at INTEGER,
                        heartbeat_deadline INTEGER,
                        log_sequence INTEGER NOT NULL CHECK (log_sequence >= 0),
                        dropped_log_lines INTEGER NOT NULL CHECK (dropped_log_lines >= 0),
                        body TEXT NOT NULL,
                        PRIMARY KEY (tenant, id)
                    ) WITHOUT ROWID;
                    CREATE INDEX operations_newest ON operations (tenant, created_at DESC, id DESC);
                    CREATE INDEX operations_by_status ON operations (tenant, status, created_at DESC, id DESC);
                    CREATE INDEX operations_by_type ON operations (tenant, type, created_at DESC, id DESC);
                    CREATE INDEX operations_by_target ON operations (tenant, target_kind, target_id, created_at DESC, id DESC);
                    CREATE INDEX operations_by_team ON operations (tenant, team_id, created_at DESC, id DESC);
                    CREATE INDEX operations_heartbeat ON operations (heartbeat_deadline) WHERE heartbeat_deadline IS NOT NULL;
                    CREATE INDEX operations_completed ON operations (completed_at) WHERE completed_at IS NOT NULL;

                    CREATE TABLE operation_logs (
                        tenant TEXT NOT NULL,
                        operation_id TEXT NOT NULL,
                        sequence INTEGER NOT NULL CHECK (sequence >= 1),
                        at INTEGER NOT NULL,
                        text TEXT NOT NULL,
                        PRIMARY KEY (tenant, operation_id, sequence)
                    ) WITHOUT ROWID;

                    CREATE TABLE idempotency_keys (
                        tenant TEXT NOT NULL,
                        caller TEXT NOT NULL,
                        key TEXT NOT NULL,
                        fingerprint TEXT NOT NULL,
                        claimed_at INTEGER NOT NULL,
                        operation TEXT,
                        PRIMARY KEY (tenant, caller, key)
                    ) WITHOUT ROWID;
                    CREATE INDEX idempotency_keys_claimed ON idempotency_keys (claimed_at);
                    """)
        }
        return migrator
    }
}
