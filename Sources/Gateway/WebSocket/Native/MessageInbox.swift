import Synchronization

/// Client messages of one connection waiting to be handled, in order. At most
/// one task drains it at a time; it exists only while messages are waiting.
final class MessageInbox: Sendable {
    struct Message: Sendable {
        var bytes: [UInt8]
        var binary: Bool
    }

    private struct State {
        var messages: [Message] = []
        var draining = false
        var stopped = false
    }

    private let state = Mutex(State())

    /// Adds a message; true when the caller must start a drain task.
    func push(_ message: Message) -> Bool {
        state.withLock { state in
            guard !state.stopped else { return false }
            state.messages.append(message)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
    }

    /// The next message, or nil (and the drain ends) when there is none.
    func pop() -> Message? {
        state.withLock { state in
            guard !state.stopped, !state.messages.isEmpty else {
                state.draining = false
                return nil
            }
            return state.messages.removeFirst()
        }
    }

    func stop() {
        state.withLock { state in
            state.stopped = true
            state.messages.removeAll()
        }
    }
}
