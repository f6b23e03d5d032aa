import Foundation
import Protocol

/// A worker's report (`PATCH /operations/{id}`): every field is optional and
/// only the fields given change. An update that changes nothing is a
/// heartbeat: it tells the hub the worker is alive without a new version.
public struct OperationUpdate: Sendable, Hashable {
    public var status: OperationStatus?
    public var progress: Int?
    public var currentStage: String?
    public var message: String?
    public var estimatedCompletion: Date?
    public var result: JSONValue?
    public var error: OperationFailure?

    public init(
        status: OperationStatus? = nil, progress: Int? = nil, currentStage: String? = nil, message: String? = nil,
        estimatedCompletion: Date? = nil, result: JSONValue? = nil, error: OperationFailure? = nil
    ) {
        self.status = status
        self.progress = progress
        self.currentStage = currentStage
        self.message = message
        self.estimatedCompletion = estimatedCompletion
        self.result = result
        self.error = error
    }

    public var isEmpty: Bool { self == OperationUpdate() }
}
