import Foundation
import Protocol

/// A long-running operation as the hub records it (API.md, "Operations").
///
/// Values are changed only through `OperationStateMachine`, which enforces the
/// rules (status moves, progress, stages, version, hub-set timestamps). Every
/// timestamp has millisecond precision, the precision stores keep and the wire
/// carries.
public struct OperationRecord: Sendable, Hashable {
    /// `op_` + 20 random base-36 characters.
    public var id: String
    public var tenant: String
    public var type: String
    public var target: OperationTarget
    /// The owning team; team-scoped roles reach the operation through it.
    public var teamID: String?
    public var status: OperationStatus
    /// 0–100, never decreasing.
    public var progress: Int
    /// Stage names; when not empty, `currentStage` is one of them.
    public var stages: [String]
    public var currentStage: String?
    public var message: String?
    public var estimatedCompletion: Date?
    public var result: JSONValue?
    public var error: OperationFailure?
    public var metadata: [String: JSONValue]
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
    /// Set by the hub when the operation enters `in_progress`.
    public var startedAt: Date?
    /// Set by the hub when the operation reaches a terminal status.
    public var completedAt: Date?
    /// 1 at creation, +1 on every change (sent as `ETag`).
    public var version: Int
    /// The offset of the operation's latest event on `operation:{id}:progress`.
    public var offset: Offset?
    /// A running operation whose worker stays silent longer is failed with `WORKER_TIMEOUT`.
    public var heartbeatTimeoutSeconds: Int?
    /// The worker's last report (a PATCH or appended logs) while running.
    public var lastHeartbeatAt: Date?
    public var cancelRequestedAt: Date?
    public var cancelRequestedBy: String?
    /// The sequence number of the last log line appended (0: none yet).
    public var logSequence: Int
    /// Log lines dropped because the per-operation cap was reached (oldest first).
    public var droppedLogLines: Int

    public init(
        id: String, tenant: String, type: String, target: OperationTarget, teamID: String? = nil,
        status: OperationStatus = .pending, progress: Int = 0, stages: [String] = [], currentStage: String? = nil,
        message: String? = nil, estimatedCompletion: Date? = nil, result: JSONValue? = nil, error: OperationFailure? = nil,
        metadata: [String: JSONValue] = [:], createdBy: String, createdAt: Date, updatedAt: Date? = nil,
        startedAt: Date? = nil, completedAt: Date? = nil, version: Int = 1, offset: Offset? = nil,
        heartbeatTimeoutSeconds: Int? = nil, lastHeartbeatAt: Date? = nil, cancelRequestedAt: Date? = nil,
        cancelRequestedBy: String? = nil, logSequence: Int = 0, droppedLogLines: Int = 0
    ) {
        self.id = id
        self.tenant = tenant
        self.type = type
        self.target = target
        self.teamID = teamID
        self.status = status
        self.progress = progress
        self.stages = stages
        self.currentStage = currentStage
        self.message = message
        self.estimatedCompletion = estimatedCompletion
        self.result = result
        self.error = error
        self.metadata = metadata
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.version = version
        self.offset = offset
        self.heartbeatTimeoutSeconds = heartbeatTimeoutSeconds
        self.lastHeartbeatAt = lastHeartbeatAt
        self.cancelRequestedAt = cancelRequestedAt
        self.cancelRequestedBy = cancelRequestedBy
        self.logSequence = logSequence
        self.droppedLogLines = droppedLogLines
    }

    public var ref: OperationRef { OperationRef(tenant: tenant, id: id) }

    /// The topic every change of this operation is published on.
    public var progressTopic: Topic {
        // An operation's id is one topic segment: made by `makeID`, or checked
        // with `isValidID` before any lookup, so the topic always parses.
        guard let topic = OperationRecord.progressTopic(id) else { preconditionFailure("invalid operation id \(id)") }
        return topic
    }

    /// The operation as an entity of the hub's directory (`operation:{id}`).
    public static func entity(_ id: String) -> EntityRef {
        EntityRef(family: "operation", id: id)
    }

    /// `operation:{id}:progress`, or `nil` when `id` cannot be a topic segment.
    public static func progressTopic(_ id: String) -> Topic? {
        try? Topic("operation:\(id):progress")
    }

    /// Whether `text` can be an operation id (one topic segment starting `op_`).
    public static func isValidID(_ text: String) -> Bool {
        text.hasPrefix("op_") && text.utf8.count <= 64 && !text.contains(":") && !text.contains("*")
            && progressTopic(text) != nil
    }

    /// When the worker of a running operation must have reported by, or `nil`
    /// when no heartbeat is expected.
    public var heartbeatDeadline: Date? {
        guard status.isRunning, let timeout = heartbeatTimeoutSeconds, timeout > 0 else { return nil }
        let last = lastHeartbeatAt ?? startedAt ?? updatedAt
        return last.addingTimeInterval(TimeInterval(timeout))
    }

    /// Whether this is a deployment of an application (it also reports on
    /// `application:{id}:status`).
    public var isApplicationDeployment: Bool {
        type == "deploy" && target.kind == "application"
    }

    /// A new random operation id.
    public static func makeID() -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        var generator = SystemRandomNumberGenerator()
        return "op_" + String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}

extension Date {
    /// This instant truncated to whole milliseconds (the precision of stores and the wire).
    public var millisecondPrecision: Date {
        Date(millisecondsSince1970: Int64((timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// Milliseconds since 1970, the stored form of timestamps (exact for
    /// dates of millisecond precision).
    public var millisecondsSince1970: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded())
    }

    public init(millisecondsSince1970 millis: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(millis) / 1000)
    }
}
