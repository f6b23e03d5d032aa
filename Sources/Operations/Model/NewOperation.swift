import Foundation
import Protocol

/// What a client gives to create an operation. The hub adds the id, tenant,
/// creator, status (`pending`), version and timestamps.
public struct NewOperation: Sendable, Hashable {
    public var type: String
    public var target: OperationTarget
    public var teamID: String?
    public var stages: [String]
    public var currentStage: String?
    public var message: String?
    public var estimatedCompletion: Date?
    public var metadata: [String: JSONValue]
    /// `nil`: the configured default (which may be none).
    public var heartbeatTimeoutSeconds: Int?

    public init(
        type: String, target: OperationTarget, teamID: String? = nil, stages: [String] = [], currentStage: String? = nil,
        message: String? = nil, estimatedCompletion: Date? = nil, metadata: [String: JSONValue] = [:],
        heartbeatTimeoutSeconds: Int? = nil
    ) {
        self.type = type
        self.target = target
        self.teamID = teamID
        self.stages = stages
        self.currentStage = currentStage
        self.message = message
        self.estimatedCompletion = estimatedCompletion
        self.metadata = metadata
        self.heartbeatTimeoutSeconds = heartbeatTimeoutSeconds
    }
}
