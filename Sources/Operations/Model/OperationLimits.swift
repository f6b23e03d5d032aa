/// Sizes the state machine enforces on every operation (fixed by the model;
/// request-level limits such as body size are `OperationSettings`).
public enum OperationLimits {
    public static let maxTypeBytes = 64
    public static let maxKindBytes = 64
    public static let maxIdentifierBytes = 128
    public static let maxStages = 100
    public static let maxStageBytes = 128
    public static let maxMessageBytes = 4_096
    public static let maxErrorCodeBytes = 64
    public static let maxHeartbeatTimeoutSeconds = 86_400
}
