import Foundation
import Protocol

/// The one place where an operation changes. Pure: given the current
/// operation, a request and the time, it returns what to do, or the typed
/// error that refuses the request. The service performs the action (publish
/// the events, store the new value under the old version).
///
/// ```
/// pending ──▶ in_progress ──▶ succeeded
///    │             │    ╲───▶ failed
///    │             ▼
///    │         cancelling ──▶ cancelled | succeeded | failed
///    ├──▶ cancelled
///    └──▶ failed
/// ```
/// Terminal states (succeeded, failed, cancelled) never change. Progress is
/// 0–100 and never goes down (entering `succeeded` sets it to 100);
/// `current_stage` is one of `stages` when `stages` is set; `version` goes up
/// by one on every change; `started_at` is set on entering `in_progress` and
/// `completed_at` on entering a terminal status, both by the hub.
public enum OperationStateMachine {
    /// What the service does with a request.
    public enum Action: Sendable, Hashable {
        /// Nothing to do: a repeated request (a retry, a second cancel).
        case unchanged(OperationRecord)
        /// The worker is alive; only the liveness fields changed (same version, no event).
        case heartbeat(OperationRecord)
        /// A new version: publish `events`, then store the operation.
        case commit(OperationRecord, events: [OperationEventKind])

        public var operation: OperationRecord {
            switch self {
            case .unchanged(let op), .heartbeat(let op), .commit(let op, _): op
            }
        }
    }

    /// The status machine of API.md.
    public static func canTransition(from: OperationStatus, to: OperationStatus) -> Bool {
        switch (from, to) {
        case (.pending, .inProgress), (.pending, .cancelled), (.pending, .failed): true
        case (.inProgress, .succeeded), (.inProgress, .failed), (.inProgress, .cancelling): true
        case (.cancelling, .cancelled), (.cancelling, .succeeded), (.cancelling, .failed): true
        default: false
        }
    }

    // MARK: Creating

    /// A new pending operation (version 1), or why `new` is invalid.
    public static func create(
        _ new: NewOperation, id: String, tenant: String, createdBy: String, now: Date, defaultHeartbeatTimeout: Int?
    ) throws(OperationError) -> OperationRecord {
        try checkName(new.type, field: "type", max: OperationLimits.maxTypeBytes)
        try checkName(new.target.kind, field: "target.kind", max: OperationLimits.maxKindBytes)
        try checkName(new.target.id, field: "target.id", max: OperationLimits.maxIdentifierBytes)
        if let team = new.teamID { try checkName(team, field: "team_id", max: OperationLimits.maxIdentifierBytes) }
        guard new.stages.count <= OperationLimits.maxStages else {
            throw .validation("stages", "too_many", "at most \(OperationLimits.maxStages) stages")
        }
        for stage in new.stages {
            guard !stage.isEmpty, stage.utf8.count <= OperationLimits.maxStageBytes else {
                throw .validation("stages", "invalid", "a stage name is 1–\(OperationLimits.maxStageBytes) bytes")
            }
        }
        guard Set(new.stages).count == new.stages.count else {
            throw .validation("stages", "duplicate", "stage names must be unique")
        }
        if let stage = new.currentStage { try checkStage(stage, stages: new.stages) }
        if let message = new.message { try checkMessage(message) }
        let timeout = new.heartbeatTimeoutSeconds ?? defaultHeartbeatTimeout
        if let timeout, !(1...OperationLimits.maxHeartbeatTimeoutSeconds).contains(timeout) {
            throw .validation(
                "heartbeat_timeout_seconds", "out_of_range",
                "heartbeat_timeout_seconds must be 1–\(OperationLimits.maxHeartbeatTimeoutSeconds)")
        }
        let now = now.millisecondPrecision
        return OperationRecord(
            id: id, tenant: tenant, type: new.type, target: new.target, teamID: new.teamID, stages: new.stages,
            currentStage: new.currentStage, message: new.message,
            estimatedCompletion: new.estimatedCompletion?.millisecondPrecision, metadata: new.metadata,
            createdBy: createdBy, createdAt: now, version: 1, heartbeatTimeoutSeconds: timeout)
    }

    // MARK: Worker reports

    /// Applies a worker's report.
    public static func apply(_ update: OperationUpdate, to op: OperationRecord, now: Date) throws(OperationError) -> Action {
        let now = now.millisecondPrecision
        try validate(update, against: op)
        var next = op
        let target = update.status ?? op.status
        if target != op.status {
            guard canTransition(from: op.status, to: target) else { throw .invalidTransition(from: op.status, to: target) }
        }
        if update.error != nil, target != .failed {
            throw .validation("error", "requires_failed_status", "error may only be reported with status failed")
        }
        if let progress = update.progress { next.progress = progress }
        if let stage = update.currentStage { next.currentStage = stage }
        if let message = update.message { next.message = message }
        if let eta = update.estimatedCompletion { next.estimatedCompletion = eta.millisecondPrecision }
        if let result = update.result { next.result = result }
        if let error = update.error { next.error = error }
        next.status = target

        guard next != op else {
            // Nothing the client can see changed: a heartbeat (running) or a repeat.
            if op.status.isRunning {
                next.lastHeartbeatAt = now
                return .heartbeat(next)
            }
            return .unchanged(op)
        }
        if op.status.isTerminal { throw .invalidTransition(from: op.status, to: target) }

        var events: [OperationEventKind]
        if target != op.status {
            enter(target, &next, now: now)
            events = target.isTerminal ? [.statusChanged, .completed] : [.statusChanged]
        } else {
            events = [.progressUpdated]
        }
        events += applicationEvents(from: op, to: next)
        return .commit(bump(next, now: now), events: events)
    }

    // MARK: Cancellation

    /// A cancel request: a pending operation is cancelled at once; a running
    /// one goes to `cancelling` and its worker gets `cancel_requested`.
    /// Repeating it changes nothing.
    public static func requestCancel(_ op: OperationRecord, by subject: String, now: Date) throws(OperationError) -> Action {
        let now = now.millisecondPrecision
        var next = op
        switch op.status {
        case .cancelling, .cancelled:
            return .unchanged(op)
        case .succeeded, .failed:
            throw .invalidTransition(from: op.status, to: .cancelled)
        case .pending:
            next.cancelRequestedAt = now
            next.cancelRequestedBy = subject
            enter(.cancelled, &next, now: now)
            return .commit(bump(next, now: now), events: [.statusChanged, .completed] + applicationEvents(from: op, to: next))
        case .inProgress:
            next.cancelRequestedAt = now
            next.cancelRequestedBy = subject
            next.status = .cancelling
            return .commit(bump(next, now: now), events: [.cancelRequested])
        }
    }

    // MARK: Liveness

    /// Fails a running operation whose worker has been silent past its heartbeat timeout.
    public static func expireHeartbeat(_ op: OperationRecord, now: Date) -> Action {
        let now = now.millisecondPrecision
        guard let deadline = op.heartbeatDeadline, deadline <= now else { return .unchanged(op) }
        var next = op
        let seconds = op.heartbeatTimeoutSeconds ?? 0
        next.error = OperationFailure(
            code: OperationFailure.workerTimeoutCode, message: "the worker did not report for \(seconds) seconds")
        enter(.failed, &next, now: now)
        return .commit(bump(next, now: now), events: [.statusChanged, .completed] + applicationEvents(from: op, to: next))
    }

    // MARK: Logs

    /// Appends log lines: they get the next sequence numbers; beyond `cap`
    /// lines per operation the oldest are dropped and counted.
    public static func appendLogs(
        _ texts: [String], to op: OperationRecord, now: Date, cap: Int, maxLineBytes: Int
    ) throws(OperationError) -> (action: Action, lines: [LogLine]) {
        let now = now.millisecondPrecision
        guard !texts.isEmpty else { throw .validation("lines", "empty", "lines must not be empty") }
        for (index, text) in texts.enumerated() where text.utf8.count > maxLineBytes {
            throw .validation("lines[\(index)]", "too_long", "a log line is at most \(maxLineBytes) bytes")
        }
        guard !op.status.isTerminal else {
            throw OperationError(
                .invalidTransition, "operation is \(op.status); its log is closed", field: "status", reason: "terminal")
        }
        var next = op
        let lines = texts.enumerated().map { index, text in
            LogLine(sequence: op.logSequence + index + 1, timestamp: now, text: text)
        }
        next.logSequence = op.logSequence + texts.count
        next.droppedLogLines = max(op.droppedLogLines, next.logSequence - max(cap, 0))
        if next.status.isRunning { next.lastHeartbeatAt = now }
        return (.commit(bump(next, now: now), events: [.logAppended]), lines)
    }

    // MARK: Rules

    private static func validate(_ update: OperationUpdate, against op: OperationRecord) throws(OperationError) {
        if let progress = update.progress {
            guard (0...100).contains(progress) else {
                throw .validation("progress", "out_of_range", "progress must be 0–100")
            }
            guard progress >= op.progress else {
                throw .validation("progress", "decreasing", "progress never goes down (it is \(op.progress))")
            }
        }
        if let stage = update.currentStage { try checkStage(stage, stages: op.stages) }
        if let message = update.message { try checkMessage(message) }
        if let error = update.error {
            guard !error.code.isEmpty, error.code.utf8.count <= OperationLimits.maxErrorCodeBytes else {
                throw .validation("error.code", "invalid", "error.code is 1–\(OperationLimits.maxErrorCodeBytes) bytes")
            }
            guard error.message.utf8.count <= OperationLimits.maxMessageBytes else {
                throw .validation("error.message", "too_long", "error.message is at most \(OperationLimits.maxMessageBytes) bytes")
            }
        }
    }

    private static func checkStage(_ stage: String, stages: [String]) throws(OperationError) {
        guard !stage.isEmpty, stage.utf8.count <= OperationLimits.maxStageBytes else {
            throw .validation("current_stage", "invalid", "current_stage is 1–\(OperationLimits.maxStageBytes) bytes")
        }
        if !stages.isEmpty, !stages.contains(stage) {
            throw .validation("current_stage", "not_a_stage", "current_stage must be one of stages")
        }
    }

    private static func checkMessage(_ message: String) throws(OperationError) {
        guard message.utf8.count <= OperationLimits.maxMessageBytes else {
            throw .validation("message", "too_long", "message is at most \(OperationLimits.maxMessageBytes) bytes")
        }
    }

    /// Names that become topic segments: 1–`max` bytes of `[A-Za-z0-9_.-]`.
    private static func checkName(_ text: String, field: String, max: Int) throws(OperationError) {
        guard !text.isEmpty, text.utf8.count <= max, isSegment(text) else {
            throw .validation(field, "invalid", "\(field) must be 1–\(max) characters of A-Z a-z 0-9 _ . -")
        }
    }

    private static func isSegment(_ text: String) -> Bool {
        text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }

    /// Sets what entering `status` implies (timestamps are the hub's).
    private static func enter(_ status: OperationStatus, _ op: inout OperationRecord, now: Date) {
        op.status = status
        if status == .inProgress {
            if op.startedAt == nil { op.startedAt = now }
            op.lastHeartbeatAt = now
        }
        if status == .succeeded { op.progress = 100 }
        if status.isTerminal { op.completedAt = now }
    }

    private static func bump(_ op: OperationRecord, now: Date) -> OperationRecord {
        var next = op
        next.version = op.version + 1
        next.updatedAt = now
        if next.status.isRunning { next.lastHeartbeatAt = now }
        return next
    }

    /// `deployment_started` / `deployment_finished` for deployments of an application.
    private static func applicationEvents(from old: OperationRecord, to new: OperationRecord) -> [OperationEventKind] {
        guard new.isApplicationDeployment, old.status != new.status else { return [] }
        if new.status == .inProgress { return [.deploymentStarted] }
        if new.status.isTerminal, new.startedAt != nil { return [.deploymentFinished] }
        return []
    }
}
