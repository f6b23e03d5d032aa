import Foundation
import Logging
import ServiceLifecycle

/// Deletes finished operations older than the retention (and expired
/// idempotency keys): once at start, then every `retentionSweepIntervalSeconds`
/// on the service's clock. Stops at graceful shutdown (returning normally).
public struct RetentionSweeper: Service {
    let operations: OperationService

    public init(operations: OperationService) {
        self.operations = operations
    }

    public func run() async throws {
        let operations = self.operations
        await Periodically.run(
            every: operations.settings.retentionSweepIntervalSeconds, on: operations.clock, startingNow: true,
            logger: operations.logger, failure: "retention sweep failed"
        ) {
            try await operations.purgeExpired()
        }
    }
}

/// At graceful shutdown, answers every long-poll and ends every log follower
/// at once, so in-flight requests do not hold the HTTP server's drain.
public struct OperationWaitersShutdown: Service {
    let operations: OperationService

    public init(operations: OperationService) {
        self.operations = operations
    }

    public func run() async throws {
        try? await gracefulShutdown()
        operations.stopWaiters()
    }
}
