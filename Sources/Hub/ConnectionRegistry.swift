import CoreMetrics
import Foundation
import NIOCore
import Protocol
import Synchronization

/// Every open session of this node: per-user connection limits, the sweep
/// that closes sessions whose credentials expired, and the drain on shutdown.
public final class ConnectionRegistry: Sendable {
    private let state: Mutex<State>
    private let nextID = Atomic<UInt64>(0)
    let limits: HubLimits
    let metrics: HubMetrics

    struct UserKey: Hashable {
        var tenant: String
        var subject: String
    }

    struct State {
        var sessions: [UInt64: Session] = [:]
        var perUser: [UserKey: Int] = [:]
        var draining = false
    }

    public init(limits: HubLimits, metrics: HubMetrics) {
        self.limits = limits
        self.metrics = metrics
        self.state = Mutex(State())
    }

    public enum RegistrationError: Error, Equatable {
        case tooManyConnections(limit: Int)
        case draining
    }

    /// Opens a session for `identity`, unless the user is at the connection limit or the node is draining.
    /// `executor`: where the session's deliveries run (see `SessionExecutor`).
    public func register(_ identity: Identity, executor: (any SessionExecutor)? = nil) throws(RegistrationError) -> Session {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let session = Session(
            id: id, connectionID: "c_" + String(id, radix: 36) + "_" + Self.randomSuffix(), identity: identity,
            queueLimit: limits.sendQueueLength, executor: executor)
        let user = UserKey(tenant: identity.tenant, subject: identity.subject)
        let result: Result<Session, RegistrationError> = state.withLock { state in
            guard !state.draining else { return .failure(.draining) }
            let count = state.perUser[user, default: 0]
            guard count < limits.maxConnectionsPerUser else {
                return .failure(.tooManyConnections(limit: limits.maxConnectionsPerUser))
            }
            state.perUser[user] = count + 1
            state.sessions[id] = session
            return .success(session)
        }
        let registered = try result.get()
        metrics.connections.increment()
        return registered
    }

    public func unregister(_ session: Session) {
        let identity = session.identity
        let user = UserKey(tenant: identity.tenant, subject: identity.subject)
        let removed = state.withLock { state -> Bool in
            guard state.sessions.removeValue(forKey: session.id) != nil else { return false }
            let count = state.perUser[user, default: 1] - 1
            state.perUser[user] = count > 0 ? count : nil
            return true
        }
        if removed { metrics.connections.decrement() }
    }

    public var count: Int {
        state.withLock { $0.sessions.count }
    }

    /// The sessions registered now (a snapshot).
    var sessions: [Session] {
        state.withLock { Array($0.sessions.values) }
    }

    public var isDraining: Bool {
        state.withLock { $0.draining }
    }

    /// Stops accepting sessions and asks every open one to reconnect elsewhere:
    /// a `reconnect` frame, then close 1012.
    public func drain() {
        let sessions = state.withLock { state in
            state.draining = true
            return Array(state.sessions.values)
        }
        let frame = ByteBuffer(bytes: ServerMessage.reconnect(reason: "server_shutdown").encoded())
        for session in sessions {
            session.requestClose(.init(code: .serviceRestart, reason: "server shutting down", finalFrame: frame))
        }
    }

    /// Closes every session whose credentials expired before `now`: a
    /// `TOKEN_EXPIRED` error frame, then close 4001. Returns how many.
    @discardableResult
    public func closeExpired(now: Date) -> Int {
        let expired = state.withLock { state in
            state.sessions.values.filter { session in
                guard let expiry = session.identity.expiresAt else { return false }
                return expiry <= now
            }
        }
        let frame = ByteBuffer(
            bytes: ServerMessage.error(.init(id: nil, code: .tokenExpired, message: "credentials expired")).encoded())
        for session in expired {
            session.requestClose(.init(code: .unauthorized, reason: "credentials expired", finalFrame: frame))
        }
        return expired.count
    }

    static func randomSuffix() -> String {
        String(UInt64.random(in: 0..<(1 << 40)), radix: 36)
    }
}
