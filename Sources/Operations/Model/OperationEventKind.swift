/// The events a change of an operation publishes. All but the deployment
/// events go on `operation:{id}:progress`; `deploymentStarted` and
/// `deploymentFinished` go on `application:{id}:status` for deployments of
/// an application.
public enum OperationEventKind: String, Sendable, Hashable, CaseIterable {
    case created
    case progressUpdated = "progress_updated"
    case statusChanged = "status_changed"
    case logAppended = "log_appended"
    case cancelRequested = "cancel_requested"
    case completed
    case deploymentStarted = "deployment_started"
    case deploymentFinished = "deployment_finished"

    /// Whether the event goes on the application's topic rather than the operation's.
    public var isApplicationEvent: Bool {
        self == .deploymentStarted || self == .deploymentFinished
    }
}
