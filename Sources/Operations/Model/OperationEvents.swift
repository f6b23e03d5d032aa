import Foundation
import Protocol

/// Builds the events a change publishes (pure). Every event's `data` carries
/// `operation_id`, `status`, `progress`, `current_stage`, `message` and
/// `version`; some events add more (see Docs/operations.md).
public enum OperationEvents {
    /// The drafts for `events`, in order: the operation's own topic first,
    /// then the application's topic.
    public static func drafts(
        for op: OperationRecord, events: [OperationEventKind], previous: OperationRecord?, lines: [LogLine] = [], now: Date
    ) -> [EventDraft] {
        let own = events.filter { !$0.isApplicationEvent }
        let application = events.filter(\.isApplicationEvent)
        var drafts = own.map { kind in
            EventDraft(
                tenant: op.tenant, topic: op.progressTopic, event: kind.rawValue,
                data: .object(data(for: op, kind: kind, previous: previous, lines: lines)), teamID: op.teamID, timestamp: now)
        }
        if let topic = try? Topic("application:\(op.target.id):status") {
            for kind in application {
                var data = base(op)
                data["application_id"] = .string(op.target.id)
                if let error = op.error { data["error"] = failure(error) }
                drafts.append(
                    EventDraft(
                        tenant: op.tenant, topic: topic, event: kind.rawValue, data: .object(data), teamID: op.teamID,
                        timestamp: now))
            }
        }
        return drafts
    }

    static func base(_ op: OperationRecord) -> [String: JSONValue] {
        [
            "operation_id": .string(op.id),
            "type": .string(op.type),
            "status": .string(op.status.rawValue),
            "progress": .number(Double(op.progress)),
            "current_stage": op.currentStage.map(JSONValue.string) ?? .null,
            "message": op.message.map(JSONValue.string) ?? .null,
            "version": .number(Double(op.version)),
        ]
    }

    static func data(for op: OperationRecord, kind: OperationEventKind, previous: OperationRecord?, lines: [LogLine]) -> [String: JSONValue] {
        var data = base(op)
        switch kind {
        case .created:
            data["target"] = .object(["kind": .string(op.target.kind), "id": .string(op.target.id)])
            data["stages"] = .array(op.stages.map(JSONValue.string))
            data["created_by"] = .string(op.createdBy)
        case .statusChanged:
            if let previous { data["previous_status"] = .string(previous.status.rawValue) }
            if let error = op.error { data["error"] = failure(error) }
        case .progressUpdated:
            if let eta = op.estimatedCompletion { data["estimated_completion"] = .string(Timestamp.format(eta)) }
        case .logAppended:
            data["lines"] = .array(
                lines.map { line in
                    .object([
                        "sequence": .number(Double(line.sequence)), "timestamp": .string(Timestamp.format(line.timestamp)),
                        "text": .string(line.text),
                    ])
                })
            data["dropped_log_lines"] = .number(Double(op.droppedLogLines))
        case .cancelRequested:
            data["requested_by"] = op.cancelRequestedBy.map(JSONValue.string) ?? .null
        case .completed:
            data["result"] = op.result ?? .null
            data["error"] = op.error.map(failure) ?? .null
        case .deploymentStarted, .deploymentFinished:
            break
        }
        return data
    }

    static func failure(_ error: OperationFailure) -> JSONValue {
        .object(["code": .string(error.code), "message": .string(error.message)])
    }
}
