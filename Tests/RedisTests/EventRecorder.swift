import HubTesting
import Synchronization

@testable import Redis

/// Collects a subscriber's events; tests await them in order.
final class EventRecorder: Sendable {
    private struct State {
        var events: [RedisSubscriber.Event] = []
        var waiters: [(index: Int, continuation: CheckedContinuation<RedisSubscriber.Event, Never>)] = []
        var cursor = 0
    }

    private let state = Mutex(State())

    @Sendable func record(_ event: RedisSubscriber.Event) {
        let ready = state.withLock { state -> [CheckedContinuation<RedisSubscriber.Event, Never>] in
            state.events.append(event)
            let index = state.events.count - 1
            let ready = state.waiters.filter { $0.index == index }.map(\.continuation)
            state.waiters.removeAll { $0.index == index }
            return ready
        }
        for continuation in ready { continuation.resume(returning: event) }
    }

    /// The event after the one returned last, waiting at most `timeout` seconds.
    func next(_ what: String = "a subscriber event", timeout: Double = 10) async throws -> RedisSubscriber.Event {
        let index = state.withLock { state in
            defer { state.cursor += 1 }
            return state.cursor
        }
        return try await withTimeout(timeout, what) { await self.event(at: index) }
    }

    /// The next message, failing when a state event comes first.
    func nextMessage(timeout: Double = 10) async throws -> RedisPubSubMessage {
        let event = try await next("a message", timeout: timeout)
        guard case .message(let message) = event else {
            throw RedisServerError("expected a message, got \(event)")
        }
        return message
    }

    var all: [RedisSubscriber.Event] { state.withLock { $0.events } }

    private func event(at index: Int) async -> RedisSubscriber.Event {
        await withCheckedContinuation { continuation in
            let event = state.withLock { state -> RedisSubscriber.Event? in
                if index < state.events.count { return state.events[index] }
                state.waiters.append((index, continuation))
                return nil
            }
            if let event { continuation.resume(returning: event) }
        }
    }
}
