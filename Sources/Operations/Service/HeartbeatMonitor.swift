import Foundation
import Logging
import ServiceLifecycle

/// Fails running operations whose worker went silent (`WORKER_TIMEOUT`),
/// checking every `heartbeatCheckIntervalSeconds` on the service's clock.
/// Stops at graceful shutdown (returning normally, never throwing).
public struct HeartbeatMonitor: Service {
    let operations: OperationService

    public init(operations: OperationService) {
        self.operations = operations
    }

    public func run() async throws {
        let interval = TimeInterval(max(operations.settings.heartbeatCheckIntervalSeconds, 1))
        let clock = operations.clock
        let operations = self.operations
        // `try?`: the cancellation that ends the loop at shutdown is not a failure (pitfall P6).
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await clock.sleep(until: clock.now().addingTimeInterval(interval))
                do {
                    try await operations.expireHeartbeats()
                } catch {
                    operations.logger.warning("heartbeat check failed", metadata: ["hub.error": "\(error)"])
                }
            }
        }
    }
}
