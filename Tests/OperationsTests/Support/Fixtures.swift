import Foundation
import Logging
@testable import Operations
import Protocol

enum Fixtures {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let logger = Logger(label: "operations-tests") { _ in SwiftLogNoOpLogHandler() }

    /// A stored-shape operation (as the state machine would make it).
    static func operation(
        id: String = OperationRecord.makeID(), tenant: String = "acme", type: String = "deploy",
        target: OperationTarget = OperationTarget(kind: "application", id: "app_1"), teamID: String? = "frontend",
        status: OperationStatus = .pending, createdAt: Date = t0, version: Int = 1
    ) -> OperationRecord {
        var op = OperationRecord(
            id: id, tenant: tenant, type: type, target: target, teamID: teamID, status: status, stages: ["build", "ship"],
            metadata: ["region": "eu"], createdBy: "alice", createdAt: createdAt, version: version)
        if status != .pending { op.startedAt = createdAt }
        if status.isRunning {
            op.heartbeatTimeoutSeconds = 30
            op.lastHeartbeatAt = createdAt
        }
        if status.isTerminal { op.completedAt = createdAt }
        return op
    }

    static func newDeploy(team: String? = "frontend", app: String = "app_1", heartbeat: Int? = nil) -> NewOperation {
        NewOperation(
            type: "deploy", target: OperationTarget(kind: "application", id: app), teamID: team,
            stages: ["build", "ship", "verify"], metadata: ["commit": "abc123"], heartbeatTimeoutSeconds: heartbeat)
    }

    static func service(
        store: any OperationStore = MemoryOperationStore(), sink: RecordingEventSink = RecordingEventSink(),
        clock: any OperationClock = ManualClock(now: t0), configure: (inout OperationSettings) -> Void = { _ in }
    ) -> OperationService {
        var settings = OperationSettings()
        configure(&settings)
        return OperationService(store: store, events: sink, clock: clock, settings: settings, logger: logger)
    }
}

/// The stores the contract suite runs against.
enum StoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case memory
    case sqlite
    /// A real redis-server (shared by the process; a key prefix per store: `SharedRedisOperationStore`).
    case redis

    var description: String { rawValue }

    func make() throws -> any OperationStore {
        switch self {
        case .memory: MemoryOperationStore()
        case .sqlite: try SQLiteOperationStore(path: TemporaryDirectory.make() + "/operations.sqlite")
        case .redis: SharedRedisOperationStore()
        }
    }
}

enum TemporaryDirectory {
    static func make() -> String {
        let path = NSTemporaryDirectory() + "ops-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
