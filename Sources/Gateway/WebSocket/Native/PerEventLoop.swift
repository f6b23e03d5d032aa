import NIOCore
import Synchronization

/// One value per event loop of the server, made on first use (a loop's
/// `DrainBatcher`, its `HeartbeatWheel`).
final class PerEventLoop<Value: AnyObject & Sendable>: Sendable {
    private let values = Mutex<[ObjectIdentifier: Value]>([:])
    private let make: @Sendable (any EventLoop) -> Value

    init(_ make: @escaping @Sendable (any EventLoop) -> Value) {
        self.make = make
    }

    func value(for loop: any EventLoop) -> Value {
        values.withLock { values in
            let key = ObjectIdentifier(loop)
            if let value = values[key] { return value }
            let value = make(loop)
            values[key] = value
            return value
        }
    }
}
