import Foundation
import JWTKit
import Protocol

/// Verifies hub JWTs: signature with the configured keys (HS256 secret, PEM
/// public key, JWKS), `kid` selection (an unknown `kid` is refused, never
/// tried against a default key), `alg: none` and algorithms without a key
/// refused, `exp`/`nbf` with leeway, `iss`/`aud` when configured.
public struct TokenVerifier: Sendable {
    let keys: JWTKeyCollection
    /// Algorithms that have a key (`HS256` only with a secret, …).
    let algorithms: Set<String>
    /// Kids of the configured keys.
    let kids: Set<String>
    let issuer: String?
    let audience: String?
    let leeway: TimeInterval
    /// Tokens that verified recently (nil: every token is verified every time).
    public let cache: VerifiedTokenCache?

    public init(
        keys: JWTKeyCollection, algorithms: Set<String>, kids: Set<String>, issuer: String?, audience: String?,
        leeway: TimeInterval, cache: VerifiedTokenCache? = nil
    ) {
        self.cache = cache
        self.keys = keys
        self.algorithms = algorithms
        self.kids = kids
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
    }

    /// Why a token was refused.
    public enum Failure: Error, Equatable, Sendable {
        case malformed
        case unsupportedAlgorithm(String)
        case unknownKey
        case badSignature
        case expired
        case notYetValid
        case wrongIssuer
        case wrongAudience
        case missingClaim(String)

        public var code: ErrorCode { self == .expired ? .tokenExpired : .unauthorized }

        public var message: String {
            switch self {
            case .malformed: "malformed token"
            case .unsupportedAlgorithm(let alg): "token algorithm '\(alg)' is not accepted"
            case .unknownKey: "token key id is unknown"
            case .badSignature: "token signature is invalid"
            case .expired: "token expired"
            case .notYetValid: "token is not valid yet"
            case .wrongIssuer: "token issuer is not accepted"
            case .wrongAudience: "token audience is not accepted"
            case .missingClaim(let name): "token has no '\(name)' claim"
            }
        }
    }

    struct Header: Decodable {
        var alg: String?
        var kid: String?
    }

    /// The identity of a token verified recently (the cache's answer), without verifying anything.
    public func cachedIdentity(_ token: String, now: Date = Date()) -> Identity? {
        cache?.identity(for: token, now: now, leeway: leeway)
    }

    public func verify(_ token: String, now: Date = Date()) async throws(Failure) -> Identity {
        if let cached = cache?.identity(for: token, now: now, leeway: leeway) { return cached }
        let identity = try await verifyUncached(token, now: now)
        cache?.store(identity, for: token, now: now)
        return identity
    }

    func verifyUncached(_ token: String, now: Date) async throws(Failure) -> Identity {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Data(base64URL: String(parts[0])),
            let header = try? JSONDecoder().decode(Header.self, from: headerData), let alg = header.alg
        else { throw .malformed }
        guard alg.lowercased() != "none", algorithms.contains(alg) else { throw .unsupportedAlgorithm(alg) }
        if let kid = header.kid, !kids.contains(kid) { throw .unknownKey }
        let claims: HubClaims
        do {
            claims = try await keys.verify(token, as: HubClaims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw .badSignature
        } catch let error as JWTError where error.errorType == .noKeyProvided {
            throw .unknownKey
        } catch let error as JWTError where error.errorType == .malformedToken {
            throw .malformed
        } catch {
            throw .badSignature
        }
        guard let exp = claims.exp else { throw .missingClaim("exp") }
        guard exp.value.addingTimeInterval(leeway) > now else { throw .expired }
        if let nbf = claims.nbf, nbf.value > now.addingTimeInterval(leeway) { throw .notYetValid }
        if let issuer, claims.iss?.value != issuer { throw .wrongIssuer }
        if let audience, !(claims.aud?.value.contains(audience) ?? false) { throw .wrongAudience }
        guard !claims.sub.value.isEmpty else { throw .missingClaim("sub") }
        guard !claims.tenant.isEmpty else { throw .missingClaim("tenant") }
        return Identity(subject: claims.sub.value, tenant: claims.tenant, roles: claims.roles ?? [], expiresAt: exp.value)
    }
}

extension Data {
    /// Decodes base64url without padding (RFC 7515).
    init?(base64URL text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        self.init(base64Encoded: base64)
    }
}
