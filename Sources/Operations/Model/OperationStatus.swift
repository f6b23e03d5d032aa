/// Where an operation is in its life. The allowed moves between statuses are
/// decided by `OperationStateMachine` alone.
public enum OperationStatus: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case pending
    case inProgress = "in_progress"
    case cancelling
    case succeeded
    case failed
    case cancelled

    /// Terminal statuses never change again.
    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .cancelled: true
        case .pending, .inProgress, .cancelling: false
        }
    }

    /// A worker is running the operation (heartbeats are expected).
    public var isRunning: Bool {
        self == .inProgress || self == .cancelling
    }

    public var description: String { rawValue }
}
