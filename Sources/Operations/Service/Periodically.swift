import Foundation
import Logging
import ServiceLifecycle

/// The loop of the operations' background services: `work` every
/// `interval` seconds (at least 1) on `clock`, first at once or after one
/// interval, until graceful shutdown or cancellation. A failed round is
/// logged and the next one runs as planned; stopping never throws (the
/// cancellation that ends the loop is not a failure, pitfall P6).
enum Periodically {
    static func run(
        every interval: Int, on clock: any OperationClock, startingNow: Bool, logger: Logger, failure: String,
        _ work: @escaping @Sendable () async throws -> Void
    ) async {
        let seconds = TimeInterval(max(interval, 1))
        try? await cancelWhenGracefulShutdown {
            var due = startingNow
            while !Task.isCancelled {
                if !due { try await clock.sleep(until: clock.now().addingTimeInterval(seconds)) }
                due = false
                do {
                    try await work()
                } catch {
                    logger.warning("\(failure)", metadata: ["hub.error": "\(error)"])
                }
            }
        }
    }
}
