import Foundation
@testable import Operations
import Protocol
import Testing

/// What only the SQLite store has: a file that outlives the process, and indexes.
@Suite("SQLite operation store")
struct SQLiteOperationStoreTests {
    @Test func everythingSurvivesReopening() async throws {
        let directory = TemporaryDirectory.make()
        var op = Fixtures.operation(id: "op_keep", status: .inProgress)
        do {
            let store = try SQLiteOperationStore(dataDirectory: directory)
            try await store.insert(op, completing: nil)
            let (action, lines) = try OperationStateMachine.appendLogs(["one", "two"], to: op, now: Fixtures.t0, cap: 10, maxLineBytes: 100)
            try await store.replace(action.operation, expectedVersion: op.version, appending: lines, logCap: 10)
            op = action.operation
        }
        let reopened = try SQLiteOperationStore(dataDirectory: directory)
        #expect(try await reopened.operation(op.ref) == op)
        #expect(try await reopened.logs(op.ref, after: 0, limit: 10).lines.map(\.text) == ["one", "two"])
        #expect(try await reopened.consistencyProblems(logCap: 10) == [])
    }

    @Test(arguments: [
        OperationQuery(tenant: "acme"),
        OperationQuery(tenant: "acme", statuses: [.pending]),
        OperationQuery(tenant: "acme", type: "deploy"),
        OperationQuery(tenant: "acme", targetKind: "application", targetID: "app_1"),
        OperationQuery(tenant: "acme", teamID: "frontend"),
    ])
    func listFiltersAreServedByIndexes(query: OperationQuery) async throws {
        let store = try SQLiteOperationStore(dataDirectory: TemporaryDirectory.make())
        let plan = try await store.queryPlan(for: query).joined(separator: " | ")
        #expect(plan.contains("USING INDEX operations_") || plan.contains("USING COVERING INDEX operations_"), "\(plan)")
        #expect(!plan.contains("SCAN operations") || plan.contains("USING INDEX"), "\(plan)")
        #expect(!plan.contains("TEMP B-TREE"), "the order must come from the index: \(plan)")
    }

    @Test func consistencyCheckFindsBrokenRows() async throws {
        let store = try SQLiteOperationStore(dataDirectory: TemporaryDirectory.make())
        let op = Fixtures.operation(id: "op_broken", status: .inProgress)
        try await store.insert(op, completing: nil)
        #expect(try await store.consistencyProblems(logCap: 10) == [])
        try await store.executeForTesting("UPDATE operations SET log_sequence = 3 WHERE id = 'op_broken'")
        #expect(try await !store.consistencyProblems(logCap: 10).isEmpty)
    }
}
