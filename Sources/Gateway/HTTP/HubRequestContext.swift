import Hummingbird
import Protocol

/// The request context of every hub route: the request id and, once the auth
/// middleware ran, who is calling (or why credentials were refused, which the
/// WebSocket endpoint reports in-band).
public struct HubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String
    public var identity: Identity?
    public var authFailure: TokenVerifier.Failure?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        requestID = ""
        identity = nil
        authFailure = nil
    }

    /// The caller, or `UNAUTHORIZED`.
    public func requireIdentity() throws -> Identity {
        guard let identity else {
            throw APIError(.unauthorized, authFailure?.message ?? "credentials required")
        }
        return identity
    }
}
