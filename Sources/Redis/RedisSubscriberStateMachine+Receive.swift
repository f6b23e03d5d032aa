import NIOCore

extension RedisSubscriberStateMachine {
    /// Handles one value from the subscriber connection.
    mutating func received(_ value: RESPValue) -> Outcome {
        var outcome = Outcome()
        switch value {
        case .array(let items?) where !items.isEmpty:
            guard let type = items[0].string else { break }
            switch (type, items.count) {
            case ("message", 3):
                guard let channel = items[1].string, let payload = items[2].bytes else { break }
                outcome.events.append(.message(RedisPubSubMessage(channel: channel, payload: payload)))
                return outcome
            case ("pmessage", 4):
                guard let pattern = items[1].string, let channel = items[2].string, let payload = items[3].bytes else { break }
                outcome.events.append(.message(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload)))
                return outcome
            case ("pong", _):
                pingOutstanding = false
                return outcome
            case (let confirmation, 3):
                guard let kind = Kind(rawValue: confirmation) else { break }
                confirm(kind, items[1].string, into: &outcome)
                return outcome
            default:
                break
            }
        case .simpleString("PONG"):
            // PING outside subscribed mode (after the last unsubscribe).
            pingOutstanding = false
            return outcome
        case .error(let message):
            // Refusal of the oldest operation.
            guard let head = operations.popFirst() else { break }
            if let id = head.waiterID, let waiter = waiters.removeValue(forKey: id) {
                outcome.resumed.append((waiter, .failure(RedisError(.serverError, message))))
            }
            if head.restoring {
                outcome.violation = RedisError(.serverError, "restoring subscriptions failed: \(message)")
            }
            return outcome
        default:
            break
        }
        outcome.violation = RedisError(.protocolError, "unexpected value on the subscriber connection: \(value)")
        return outcome
    }

    private mutating func confirm(_ kind: Kind, _ name: String?, into outcome: inout Outcome) {
        guard var head = operations.first, head.kind == kind, let name, head.remaining.first == name else {
            outcome.violation = RedisError(.protocolError, "unexpected \(kind.rawValue) confirmation for \(name ?? "nil")")
            return
        }
        head.remaining.removeFirst()
        guard head.remaining.isEmpty else {
            operations[operations.startIndex] = head
            return
        }
        operations.removeFirst()
        if let id = head.waiterID, let waiter = waiters.removeValue(forKey: id) {
            outcome.resumed.append((waiter, .success(())))
        }
        if head.restoring, operations.first?.restoring != true, case .restoring(let writer) = link {
            restored(writer, into: &outcome)
        }
    }
}
