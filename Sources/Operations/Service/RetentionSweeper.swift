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
        let interval = TimeInterval(max(operations.settings.retentionSweepIntervalSeconds, 1))
        let clock = operations.clock
        let operations = self.operations
        // `try?`: the cancellation that ends the loop at shutdown is not a failure (pitfall P6).
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await operations.purgeExpired()
                } catch {
                    operations.logger.warning("retention sweep failed", metadata: ["hub.error": "\(error)"])
                }
                try await clock.sleep(until: clock.now().addingTimeInterval(interval))
            }
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
