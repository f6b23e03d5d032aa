import AsyncAlgorithms
import Foundation
import Hub
import ServiceLifecycle

/// Closes sessions whose credentials expired (error `TOKEN_EXPIRED`, close 4001), once a second.
struct ExpirySweeper: Service {
    let registry: ConnectionRegistry

    func run() async throws {
        for await _ in AsyncTimerSequence(interval: .seconds(1), clock: .continuous).cancelOnGracefulShutdown() {
            registry.closeExpired(now: Date())
        }
    }
}

/// Embedded mode with `topic_ttl`: forgets idle topics every `expirySweepInterval`.
struct TopicExpirySweeper: Service {
    let bus: LocalEventBus

    func run() async throws {
        guard let interval = bus.expirySweepInterval else { return }
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            bus.expireIdleTopics()
        }
    }
}

/// On graceful shutdown: refuse new WebSockets, send `reconnect` + close 1012
/// to every open one, and wait (bounded) until they are gone.
struct DrainService: Service {
    let registry: ConnectionRegistry
    let timeout: Duration

    func run() async throws {
        try? await gracefulShutdown()
        registry.drain()
        let deadline = ContinuousClock.now + timeout
        for await _ in AsyncTimerSequence(interval: .milliseconds(20), clock: .continuous) {
            if registry.count == 0 || ContinuousClock.now >= deadline { break }
        }
    }
}
