import Foundation
import Operations
import Protocol

/// `POST /operations` body.
struct CreateOperationBody: Decodable, Sendable {
    var type: String
    var target: TargetBody
    var teamID: String?
    var stages: [String]?
    var currentStage: String?
    var message: String?
    var estimatedCompletion: String?
    var metadata: [String: JSONValue]?
    var heartbeatTimeoutSeconds: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, target
        case teamID = "team_id"
        case stages
        case currentStage = "current_stage"
        case message
        case estimatedCompletion = "estimated_completion"
        case metadata
        case heartbeatTimeoutSeconds = "heartbeat_timeout_seconds"
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        target = try c.decode(TargetBody.self, forKey: .target)
        teamID = try c.decodeIfPresent(String.self, forKey: .teamID)
        stages = try c.decodeIfPresent([String].self, forKey: .stages)
        currentStage = try c.decodeIfPresent(String.self, forKey: .currentStage)
        message = try c.decodeIfPresent(String.self, forKey: .message)
        estimatedCompletion = try c.decodeIfPresent(String.self, forKey: .estimatedCompletion)
        metadata = try c.decodeIfPresent([String: JSONValue].self, forKey: .metadata)
        heartbeatTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .heartbeatTimeoutSeconds)
    }

    func model() throws -> NewOperation {
        NewOperation(
            type: type, target: OperationTarget(kind: target.kind, id: target.id), teamID: teamID, stages: stages ?? [],
            currentStage: currentStage, message: message,
            estimatedCompletion: try estimatedCompletion.map { try OperationTimestamps.parse($0, field: "estimated_completion") },
            metadata: metadata ?? [:], heartbeatTimeoutSeconds: heartbeatTimeoutSeconds)
    }
}

struct TargetBody: Decodable, Sendable {
    var kind: String
    var id: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, id
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(String.self, forKey: .kind)
        id = try c.decode(String.self, forKey: .id)
    }
}

/// `PATCH /operations/{id}` body: a worker's report. `null` counts as absent.
struct PatchOperationBody: Decodable, Sendable {
    var status: OperationStatus?
    var progress: Int?
    var currentStage: String?
    var message: String?
    var estimatedCompletion: String?
    var result: JSONValue?
    var error: FailureBody?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case status, progress
        case currentStage = "current_stage"
        case message
        case estimatedCompletion = "estimated_completion"
        case result, error
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decodeIfPresent(OperationStatus.self, forKey: .status)
        progress = try c.decodeIfPresent(Int.self, forKey: .progress)
        currentStage = try c.decodeIfPresent(String.self, forKey: .currentStage)
        message = try c.decodeIfPresent(String.self, forKey: .message)
        estimatedCompletion = try c.decodeIfPresent(String.self, forKey: .estimatedCompletion)
        result = try c.decodeIfPresent(JSONValue.self, forKey: .result).flatMap { $0 == .null ? nil : $0 }
        error = try c.decodeIfPresent(FailureBody.self, forKey: .error)
    }

    func model() throws -> OperationUpdate {
        OperationUpdate(
            status: status, progress: progress, currentStage: currentStage, message: message,
            estimatedCompletion: try estimatedCompletion.map { try OperationTimestamps.parse($0, field: "estimated_completion") },
            result: result, error: error.map { OperationFailure(code: $0.code, message: $0.message ?? "") })
    }
}

struct FailureBody: Decodable, Sendable {
    var code: String
    var message: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case code, message
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        code = try c.decode(String.self, forKey: .code)
        message = try c.decodeIfPresent(String.self, forKey: .message)
    }
}

/// `POST /operations/{id}/logs` body: `{"lines":["…","…"]}`.
struct AppendLogsBody: Decodable, Sendable {
    var lines: [String]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case lines
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lines = try c.decode([String].self, forKey: .lines)
    }
}

enum OperationTimestamps {
    static func parse(_ text: String, field: String) throws -> Date {
        guard let date = Timestamp.parse(text) else {
            throw APIError(
                .validationError, "\(field) must be an RFC 3339 timestamp", details: ["field": .string(field), "reason": "invalid"])
        }
        return date
    }
}
