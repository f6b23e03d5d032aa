import CoreMetrics
import Foundation
import Hub
import NIOHTTP1
import Operations
import Protocol

/// Decides whether the first request of a connection is a long-poll that
/// can be parked in a channel handler (`LongPollHandler`) instead of a
/// request task, and holds what parking needs.
///
/// Only the plain case is parked: `GET /api/v1/operations/{id}` with a valid
/// `wait_seconds` (1…`max_wait_seconds`), an `If-None-Match` naming the
/// current version and a bearer token that may read the operation. Anything
/// else (a bad parameter, a missing or refused token, another tenant's or an
/// unknown operation, a stale tag) goes to Hummingbird unchanged, which
/// answers it as before: one place decides every error.
struct LongPollParking: Sendable {
    let verifier: TokenVerifier
    let operations: OperationService
    let access: OperationAccess
    let settings: OperationSettings
    let encoded: EncodedOperations
    let waiters: Meter
    let metrics: HTTPMetrics

    /// The route label of the answers in `hub_http_requests_total`.
    static let route = "/api/v1/operations/{id}"
    static let prefix = "/api/v1/operations/"

    /// What a request head asks for, if it may be a parkable long-poll.
    struct Candidate: Sendable {
        var id: String
        var token: String
        var waitSeconds: Int
        var noneMatch: EntityTag.Condition
        var requestID: String
        var start: ContinuousClock.Instant
    }

    enum Decision: Sendable {
        /// Hummingbird answers it.
        case forward
        /// Parked until `op` changes or `waitSeconds` pass.
        case park(OperationRecord)
    }

    func candidate(_ head: HTTPRequestHead) -> Candidate? {
        guard head.method == .GET, !head.headers.contains(name: "upgrade") else { return nil }
        let uri = head.uri
        let (path, query) = uri.firstIndex(of: "?").map { (uri[..<$0], uri[uri.index(after: $0)...]) } ?? (uri[...], "")
        guard path.hasPrefix(Self.prefix) else { return nil }
        let id = path.dropFirst(Self.prefix.count)
        guard OperationRecord.isValidID(String(id)) else { return nil }
        var wait: Int?
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            // Other parameters (a `token`, anything percent-encoded) are Hummingbird's to read.
            guard parts[0] == "wait_seconds", wait == nil, let value = Int(parts[1]) else { return nil }
            wait = value
        }
        guard let wait, (1...settings.maxWaitSeconds).contains(wait) else { return nil }
        guard let tagText = head.headers.first(name: "if-none-match") else { return nil }
        let authorization = head.headers["authorization"]
        guard authorization.count == 1 else { return nil }
        let parts = authorization[0].split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return Candidate(
            id: String(id), token: String(parts[1]), waitSeconds: wait, noneMatch: EntityTag.parse(tagText),
            requestID: RequestID.pick(head.headers.first(name: "x-request-id")), start: .now)
    }

    /// Checks the credentials, the permission and the tag as the route would; `.forward` on any doubt.
    func decide(_ candidate: Candidate) async -> Decision {
        guard let identity = try? await verifier.verify(candidate.token) else { return .forward }
        guard (try? access.requireAnyGrant(identity, OperationAccess.read)) != nil else { return .forward }
        let ref = OperationRef(tenant: identity.tenant, id: candidate.id)
        guard let op = try? await operations.operation(ref) else { return .forward }
        return decision(candidate, identity, op)
    }

    /// The same decision from the caches alone (a token verified recently, an
    /// operation in the read cache), so that the loop decides without a task;
    /// nil when either is not cached.
    func decideNow(_ candidate: Candidate) -> Decision? {
        guard let identity = verifier.cachedIdentity(candidate.token) else { return nil }
        guard (try? access.requireAnyGrant(identity, OperationAccess.read)) != nil else { return .forward }
        guard let op = operations.cachedOperation(OperationRef(tenant: identity.tenant, id: candidate.id)) else { return nil }
        return decision(candidate, identity, op)
    }

    private func decision(_ candidate: Candidate, _ identity: Identity, _ op: OperationRecord) -> Decision {
        guard (try? access.require(identity, OperationAccess.read, on: op)) != nil else { return .forward }
        switch candidate.noneMatch {
        case .any: return .park(op)
        case .versions(let versions): return versions.contains(op.version) ? .park(op) : .forward
        }
    }
}
