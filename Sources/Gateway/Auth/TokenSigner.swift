import Foundation
import JWTKit
import Protocol

/// Mints HS256 development tokens (`hub token`), with whole-second times so
/// verifiers in other languages accept them.
public struct TokenSigner: Sendable {
    let keys: JWTKeyCollection

    public init(secret: String) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    }

    public func sign(
        subject: String, tenant: String, roles: [RoleGrant], ttl: TimeInterval, issuer: String? = nil,
        audience: String? = nil, now: Date = Date()
    ) async throws -> String {
        let issued = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let claims = HubClaims(
            sub: subject, tenant: tenant, roles: roles, exp: issued.addingTimeInterval(ttl.rounded(.down)), iat: issued,
            iss: issuer, aud: audience.map { [$0] })
        return try await keys.sign(claims)
    }
}
