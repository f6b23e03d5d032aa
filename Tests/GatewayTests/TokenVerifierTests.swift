import Foundation
import Gateway
import JWTKit
import Logging
import Protocol
import Testing

@Suite("Token verification")
struct TokenVerifierTests {
    static let secret = "an-hs256-secret-that-is-long-enough-0123456789"

    func verifier(_ configure: (inout HubConfiguration) -> Void = { _ in }) async throws -> TokenVerifier {
        var configuration = HubConfiguration()
        configuration.dataDir = NSTemporaryDirectory() + "verifier-" + UUID().uuidString
        configuration.auth.jwtSecret = Self.secret
        configure(&configuration)
        return try await KeyLoader.verifier(configuration, logger: Logger(label: "test"))
    }

    func claims(exp: Date? = Date().addingTimeInterval(600), nbf: Date? = nil, iss: String? = nil, aud: [String]? = nil) -> HubClaims {
        HubClaims(sub: "alice", tenant: "acme", roles: [RoleGrant(role: "admin")], exp: exp, nbf: nbf, iss: iss, aud: aud)
    }

    func hs256(_ claims: HubClaims, secret: String = secret) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return try await keys.sign(claims)
    }

    @Test func validHS256TokenGivesTheIdentity() async throws {
        let identity = try await verifier().verify(try await hs256(claims()))
        #expect(identity.subject == "alice")
        #expect(identity.tenant == "acme")
        #expect(identity.roles == [RoleGrant(role: "admin")])
    }

    @Test func aCachedTokenIsStillRefusedOnceExpired() async throws {
        let verifier = try await verifier { $0.auth.leewaySeconds = 0; $0.auth.tokenCacheSeconds = 300 }
        let now = Date()
        let token = try await hs256(claims(exp: now.addingTimeInterval(60)))
        _ = try await verifier.verify(token, now: now)
        #expect(verifier.cache?.count == 1)
        #expect(try await verifier.verify(token, now: now.addingTimeInterval(30)).subject == "alice")
        await #expect(throws: TokenVerifier.Failure.expired) { try await verifier.verify(token, now: now.addingTimeInterval(61)) }
        #expect(verifier.cache?.count == 0)
    }

    @Test func failuresAreNeverCachedAndTheCacheIsBounded() async throws {
        let verifier = try await verifier { $0.auth.tokenCacheSize = 3 }
        let forged = try await hs256(claims(), secret: String(repeating: "z", count: 40))
        for _ in 0..<2 {
            await #expect(throws: TokenVerifier.Failure.badSignature) { try await verifier.verify(forged) }
        }
        for index in 0..<5 {
            var claims = claims()
            claims.sub = .init(value: "user\(index)")
            _ = try await verifier.verify(try await hs256(claims))
        }
        #expect(verifier.cache?.count == 3)
    }

    @Test func theCacheCanBeTurnedOff() async throws {
        let verifier = try await verifier { $0.auth.tokenCacheSize = 0 }
        #expect(verifier.cache == nil)
        _ = try await verifier.verify(try await hs256(claims()))
    }

    @Test func wrongSecretIsABadSignature() async throws {
        let token = try await hs256(claims(), secret: String(repeating: "z", count: 40))
        await #expect(throws: TokenVerifier.Failure.badSignature) { try await verifier().verify(token) }
    }

    @Test func algNoneIsRefused() async throws {
        func b64(_ text: String) -> String {
            Data(text.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        }
        let exp = Int(Date().addingTimeInterval(600).timeIntervalSince1970)
        let token = b64(#"{"alg":"none","typ":"JWT"}"#) + "." + b64(#"{"sub":"alice","tenant":"acme","exp":\#(exp)}"#) + "."
        await #expect(throws: TokenVerifier.Failure.unsupportedAlgorithm("none")) { try await verifier().verify(token) }
    }

    @Test func algorithmWithoutAKeyIsRefused() async throws {
        let keys = JWTKeyCollection()
        await keys.add(rsa: try Insecure.RSA.PrivateKey(pem: TestKeys.rsaPrivate), digestAlgorithm: .sha256)
        let token = try await keys.sign(claims())
        await #expect(throws: TokenVerifier.Failure.unsupportedAlgorithm("RS256")) { try await verifier().verify(token) }
    }

    @Test func expiryAndLeeway() async throws {
        let verifier = try await verifier { $0.auth.leewaySeconds = 30 }
        let justExpired = try await hs256(claims(exp: Date().addingTimeInterval(-10)))
        #expect(try await verifier.verify(justExpired).subject == "alice")
        let expired = try await hs256(claims(exp: Date().addingTimeInterval(-60)))
        await #expect(throws: TokenVerifier.Failure.expired) { try await verifier.verify(expired) }
        let noExp = try await hs256(claims(exp: nil))
        await #expect(throws: TokenVerifier.Failure.missingClaim("exp")) { try await verifier.verify(noExp) }
        let notYet = try await hs256(claims(nbf: Date().addingTimeInterval(120)))
        await #expect(throws: TokenVerifier.Failure.notYetValid) { try await verifier.verify(notYet) }
    }

    @Test func issuerAndAudienceWhenConfigured() async throws {
        let verifier = try await verifier {
            $0.auth.jwtIssuer = "https://idp.example"
            $0.auth.jwtAudience = "hub"
        }
        let good = try await hs256(claims(iss: "https://idp.example", aud: ["hub", "other"]))
        #expect(try await verifier.verify(good).subject == "alice")
        let wrongIssuer = try await hs256(claims(iss: "https://evil.example", aud: ["hub"]))
        await #expect(throws: TokenVerifier.Failure.wrongIssuer) { try await verifier.verify(wrongIssuer) }
        let wrongAudience = try await hs256(claims(iss: "https://idp.example", aud: ["billing"]))
        await #expect(throws: TokenVerifier.Failure.wrongAudience) { try await verifier.verify(wrongAudience) }
    }

    @Test func rs256FromAPublicKeyFile() async throws {
        let path = NSTemporaryDirectory() + "rsa-\(UUID().uuidString).pem"
        try TestKeys.rsaPublic.write(toFile: path, atomically: true, encoding: .utf8)
        let verifier = try await verifier {
            $0.auth.jwtSecret = nil
            $0.auth.jwtPublicKeyFile = path
        }
        let keys = JWTKeyCollection()
        await keys.add(rsa: try Insecure.RSA.PrivateKey(pem: TestKeys.rsaPrivate), digestAlgorithm: .sha256)
        #expect(try await verifier.verify(try await keys.sign(claims())).subject == "alice")
        // With only a public key configured, HS256 tokens are not accepted at all.
        await #expect(throws: TokenVerifier.Failure.unsupportedAlgorithm("HS256")) { try await verifier.verify(try await hs256(claims())) }
    }

    @Test func es256FromAJWKSWithKidSelection() async throws {
        let first = ES256PrivateKey()
        let second = ES256PrivateKey()
        func jwk(_ key: ES256PrivateKey, kid: String) throws -> String {
            let parameters = try #require(key.publicKey.parameters)
            return #"{"kty":"EC","crv":"P-256","alg":"ES256","kid":"\#(kid)","x":"\#(parameters.x)","y":"\#(parameters.y)"}"#
        }
        let path = NSTemporaryDirectory() + "jwks-\(UUID().uuidString).json"
        try #"{"keys":[\#(try jwk(first, kid: "k1")),\#(try jwk(second, kid: "k2"))]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let verifier = try await verifier {
            $0.auth.jwtSecret = nil
            $0.auth.jwksFile = path
        }
        let signer = JWTKeyCollection()
        await signer.add(ecdsa: second, kid: "k2")
        await signer.add(ecdsa: first, kid: "k1")
        #expect(try await verifier.verify(try await signer.sign(claims(), kid: "k2")).subject == "alice")
        #expect(try await verifier.verify(try await signer.sign(claims(), kid: "k1")).subject == "alice")
        // A token signed by k2's key but naming k1 fails; an unknown kid is refused outright.
        let mislabelled = JWTKeyCollection()
        await mislabelled.add(ecdsa: second, kid: "k1")
        await #expect(throws: TokenVerifier.Failure.badSignature) { try await verifier.verify(try await mislabelled.sign(claims(), kid: "k1")) }
        let unknown = JWTKeyCollection()
        await unknown.add(ecdsa: first, kid: "k9")
        await #expect(throws: TokenVerifier.Failure.unknownKey) { try await verifier.verify(try await unknown.sign(claims(), kid: "k9")) }
    }

    @Test func generatedSecretIsWrittenWithMode0600AndReused() async throws {
        let dir = NSTemporaryDirectory() + "secret-" + UUID().uuidString
        let first = try KeyLoader.secret(configured: nil, dataDir: dir)
        let second = try KeyLoader.secret(configured: nil, dataDir: dir)
        #expect(first == second)
        #expect(first.utf8.count >= 32)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/jwt-secret")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }
}
