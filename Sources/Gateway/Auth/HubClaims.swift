import Foundation
import JWTKit
import Protocol

/// The claims of a hub token (PROTOCOL.md): `sub`, `tenant`, `roles`, and the
/// registered time and audience claims. Time claims are checked by
/// `TokenVerifier` with the configured leeway, not here.
public struct HubClaims: JWTPayload, Equatable {
    public var sub: SubjectClaim
    public var tenant: String
    public var roles: [RoleGrant]?
    public var exp: ExpirationClaim?
    public var nbf: NotBeforeClaim?
    public var iat: IssuedAtClaim?
    public var iss: IssuerClaim?
    public var aud: AudienceClaim?

    public init(
        sub: String, tenant: String, roles: [RoleGrant], exp: Date?, nbf: Date? = nil, iat: Date? = nil,
        iss: String? = nil, aud: [String]? = nil
    ) {
        self.sub = SubjectClaim(value: sub)
        self.tenant = tenant
        self.roles = roles
        self.exp = exp.map { ExpirationClaim(value: $0) }
        self.nbf = nbf.map { NotBeforeClaim(value: $0) }
        self.iat = iat.map { IssuedAtClaim(value: $0) }
        self.iss = iss.map { IssuerClaim(value: $0) }
        self.aud = aud.map { AudienceClaim(value: $0) }
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}
