import Foundation
import Protocol

/// The wire form of an operation (API.md): snake_case keys, RFC 3339
/// timestamps with milliseconds, absent optionals written as `null`.
extension OperationRecord: Codable {
    enum CodingKeys: String, CodingKey {
        case id = "operation_id"
        case tenant, type, target
        case teamID = "team_id"
        case status, progress, stages
        case currentStage = "current_stage"
        case message
        case estimatedCompletion = "estimated_completion"
        case result, error, metadata
        case createdBy = "created_by"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case startedAt = "started_at"
        case completedAt = "completed_at"
        case version, offset
        case heartbeatTimeoutSeconds = "heartbeat_timeout_seconds"
        case lastHeartbeatAt = "last_heartbeat_at"
        case cancelRequestedAt = "cancel_requested_at"
        case cancelRequestedBy = "cancel_requested_by"
        case logSequence = "log_sequence"
        case droppedLogLines = "dropped_log_lines"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(type, forKey: .type)
        try c.encode(target, forKey: .target)
        try c.encode(teamID, forKey: .teamID)
        try c.encode(status, forKey: .status)
        try c.encode(progress, forKey: .progress)
        try c.encode(stages, forKey: .stages)
        try c.encode(currentStage, forKey: .currentStage)
        try c.encode(message, forKey: .message)
        try c.encode(estimatedCompletion.map(Timestamp.format), forKey: .estimatedCompletion)
        try c.encode(result, forKey: .result)
        try c.encode(error, forKey: .error)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(createdBy, forKey: .createdBy)
        try c.encode(Timestamp.format(createdAt), forKey: .createdAt)
        try c.encode(Timestamp.format(updatedAt), forKey: .updatedAt)
        try c.encode(startedAt.map(Timestamp.format), forKey: .startedAt)
        try c.encode(completedAt.map(Timestamp.format), forKey: .completedAt)
        try c.encode(version, forKey: .version)
        try c.encode(offset, forKey: .offset)
        try c.encode(heartbeatTimeoutSeconds, forKey: .heartbeatTimeoutSeconds)
        try c.encode(lastHeartbeatAt.map(Timestamp.format), forKey: .lastHeartbeatAt)
        try c.encode(cancelRequestedAt.map(Timestamp.format), forKey: .cancelRequestedAt)
        try c.encode(cancelRequestedBy, forKey: .cancelRequestedBy)
        try c.encode(logSequence, forKey: .logSequence)
        try c.encode(droppedLogLines, forKey: .droppedLogLines)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func date(_ key: CodingKeys) throws -> Date? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not an RFC 3339 timestamp")
            }
            return date.millisecondPrecisionRounded
        }
        func required(_ key: CodingKeys) throws -> Date {
            guard let value = try date(key) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: c.codingPath, debugDescription: "required"))
            }
            return value
        }
        self.init(
            id: try c.decode(String.self, forKey: .id),
            tenant: try c.decode(String.self, forKey: .tenant),
            type: try c.decode(String.self, forKey: .type),
            target: try c.decode(OperationTarget.self, forKey: .target),
            teamID: try c.decodeIfPresent(String.self, forKey: .teamID),
            status: try c.decode(OperationStatus.self, forKey: .status),
            progress: try c.decode(Int.self, forKey: .progress),
            stages: try c.decodeIfPresent([String].self, forKey: .stages) ?? [],
            currentStage: try c.decodeIfPresent(String.self, forKey: .currentStage),
            message: try c.decodeIfPresent(String.self, forKey: .message),
            estimatedCompletion: try date(.estimatedCompletion),
            result: try c.decodeIfPresent(JSONValue.self, forKey: .result).flatMap { $0 == .null ? nil : $0 },
            error: try c.decodeIfPresent(OperationFailure.self, forKey: .error),
            metadata: try c.decodeIfPresent([String: JSONValue].self, forKey: .metadata) ?? [:],
            createdBy: try c.decode(String.self, forKey: .createdBy),
            createdAt: try required(.createdAt),
            updatedAt: try required(.updatedAt),
            startedAt: try date(.startedAt),
            completedAt: try date(.completedAt),
            version: try c.decode(Int.self, forKey: .version),
            offset: try c.decodeIfPresent(Offset.self, forKey: .offset),
            heartbeatTimeoutSeconds: try c.decodeIfPresent(Int.self, forKey: .heartbeatTimeoutSeconds),
            lastHeartbeatAt: try date(.lastHeartbeatAt),
            cancelRequestedAt: try date(.cancelRequestedAt),
            cancelRequestedBy: try c.decodeIfPresent(String.self, forKey: .cancelRequestedBy),
            logSequence: try c.decodeIfPresent(Int.self, forKey: .logSequence) ?? 0,
            droppedLogLines: try c.decodeIfPresent(Int.self, forKey: .droppedLogLines) ?? 0)
    }
}

extension Date {
    /// This instant rounded to the nearest millisecond, in the same
    /// representation stores produce (so equal instants compare equal).
    var millisecondPrecisionRounded: Date {
        Date(millisecondsSince1970: millisecondsSince1970)
    }
}
