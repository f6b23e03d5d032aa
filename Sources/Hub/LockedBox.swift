import Synchronization

/// A `Mutex` on the heap, so that several can be kept in an array (`Mutex` is
/// not copyable). Used for the shards of the index and the history.
final class LockedBox<Value: ~Copyable>: Sendable where Value: Sendable {
    let mutex: Mutex<Value>

    init(_ value: consuming sending Value) {
        mutex = Mutex(value)
    }

    func withLock<Result, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
        try mutex.withLock(body)
    }
}
