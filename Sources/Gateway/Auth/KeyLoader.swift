import Foundation
import JWTKit
import Logging

/// Builds the token verifier (and the signer for `hub token`) from the configuration.
public enum KeyLoader {
    public static let secretFileName = "jwt-secret"

    /// The HS256 secret: configured, or read from / generated into `<data_dir>/jwt-secret` (mode 0600).
    public static func secret(configured: String?, dataDir: String, generate: Bool = true) throws -> String {
        if let configured { return configured }
        let path = (dataDir as NSString).appendingPathComponent(secretFileName)
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            let trimmed = existing.trimmingCharacters(in: .whitespacesAndNewlines)
            guard trimmed.utf8.count >= 32 else { throw ConfigurationError("\(path) holds a secret shorter than 32 bytes") }
            return trimmed
        }
        guard generate else { throw ConfigurationError("no JWT secret: set HUB_JWT_SECRET or start the hub once") }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        var bytes = [UInt8](repeating: 0, count: 48)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let secret = Data(bytes).base64EncodedString()
        guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600])
        else { throw ConfigurationError("cannot write \(path)") }
        return secret
    }

    public static func verifier(_ configuration: HubConfiguration, logger: Logger) async throws -> TokenVerifier {
        let keys = JWTKeyCollection()
        var algorithms: Set<String> = []
        var kids: Set<String> = []
        let auth = configuration.auth
        let hasAsymmetric = auth.jwtPublicKeyFile != nil || auth.jwksFile != nil
        if auth.jwtSecret != nil || !hasAsymmetric {
            let secret = try secret(configured: auth.jwtSecret, dataDir: configuration.dataDir)
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            algorithms.insert("HS256")
        }
        if let path = auth.jwtPublicKeyFile {
            let pem = try readFile(path)
            if let key = try? Insecure.RSA.PublicKey(pem: pem) {
                await keys.add(rsa: key, digestAlgorithm: .sha256)
                algorithms.insert("RS256")
            } else if let key = try? ES256PublicKey(pem: pem) {
                await keys.add(ecdsa: key)
                algorithms.insert("ES256")
            } else if let key = try? EdDSA.PublicKey(pem: pem) {
                await keys.add(eddsa: key)
                algorithms.insert("EdDSA")
            } else {
                throw ConfigurationError("\(path) is not an RSA, P-256 or Ed25519 public key in PEM form")
            }
        }
        if let path = auth.jwksFile {
            let json = try readFile(path)
            do {
                let jwks = try JSONDecoder().decode(JWKS.self, from: Data(json.utf8))
                try await keys.add(jwks: jwks)
                for key in jwks.keys {
                    if let kid = key.keyIdentifier?.string { kids.insert(kid) }
                    if let alg = key.algorithm?.rawValue { algorithms.insert(alg) } else { algorithms.formUnion(["RS256", "ES256", "EdDSA"]) }
                }
            } catch {
                throw ConfigurationError("\(path) is not a valid JWKS document: \(error)")
            }
        }
        logger.debug("token verifier ready", metadata: ["hub.auth.algorithms": "\(algorithms.sorted())"])
        return TokenVerifier(
            keys: keys, algorithms: algorithms, kids: kids, issuer: auth.jwtIssuer, audience: auth.jwtAudience,
            leeway: TimeInterval(auth.leewaySeconds),
            cache: auth.tokenCacheSize > 0
                ? VerifiedTokenCache(capacity: auth.tokenCacheSize, lifetime: TimeInterval(auth.tokenCacheSeconds)) : nil)
    }

    private static func readFile(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError("cannot read \(path)")
        }
        return text
    }
}
