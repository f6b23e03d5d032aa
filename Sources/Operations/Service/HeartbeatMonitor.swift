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
        let operations = self.operations
        await Periodically.run(
            every: operations.settings.heartbeatCheckIntervalSeconds, on: operations.clock, startingNow: false,
            logger: operations.logger, failure: "heartbeat check failed"
        ) {
            try await operations.expireHeartbeats()
        }
    }
}

