import Protocol
import Redis

extension HubError {
    /// A Redis failure as the hub reports it: `SERVICE_UNAVAILABLE` when
    /// Redis could not be reached, the connection broke or Redis said "not
    /// now" (out of memory, loading: ``RedisError/isTemporary``; retry later),
    /// `INTERNAL` for anything else (a refused command, an unexpected reply).
    static func redis(_ error: RedisError, while what: String) -> HubError {
        if error.isTemporary || error.code == .cancelled {
            return .unavailable("Redis is unavailable (\(what)): \(error.code)")
        }
        return HubError(.internalError, "Redis failed (\(what)): \(error.code)")
    }
}
