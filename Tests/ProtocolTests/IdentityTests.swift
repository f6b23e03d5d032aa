import Foundation
import Testing

@testable import Protocol

@Suite("Identity")
struct IdentityTests {
    // MARK: - RoleScope

    @Test(
        "RoleScope parses tenant:{tenant} and team:{team}",
        arguments: [
            ("tenant:acme", RoleScope.tenant("acme")),
            ("team:frontend", .team("frontend")),
            ("tenant:a", .tenant("a")),
            ("team:x", .team("x")),
            ("team:platform:infra", .team("platform:infra")),
        ])
    func scopeParse(_ text: String, _ expected: RoleScope) {
        #expect(RoleScope(text) == expected)
        #expect(RoleScope(text)?.description == text)
    }

    @Test(
        "Malformed scopes are refused",
        arguments: ["", "tenant", "team", "tenant:", "team:", "org:acme", "Tenant:acme", "TEAM:x", "acme", " team:x", "teams:x", ":acme"])
    func scopeMalformed(_ text: String) {
        #expect(RoleScope(text) == nil)
    }

    @Test("RoleScope encodes as its string and decodes back")
    func scopeCodable() throws {
        let scopes: [RoleScope] = [.tenant("acme"), .team("frontend")]
        let bytes = try encodeJSON(scopes)
        #expect(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String] == ["tenant:acme", "team:frontend"])
        #expect(try decodeJSON([RoleScope].self, bytes) == scopes)
    }

    @Test("Decoding a malformed scope fails", arguments: [#"["org:x"]"#, #"["team:"]"#, #"[""]"#, "[5]"])
    func scopeDecodingMalformed(_ json: String) {
        #expect(throws: DecodingError.self) { try decodeJSON([RoleScope].self, json) }
    }

    // MARK: - RoleGrant

    @Test("A role as in PROTOCOL.md decodes")
    func grantFromProtocolExample() throws {
        let json = #"[{ "role": "developer", "scope": "team:frontend", "permissions": ["application:read", "operation:read"] }]"#
        let grants = try decodeJSON([RoleGrant].self, json)
        #expect(grants.count == 1)
        let grant = try #require(grants.first)
        #expect(grant.role == "developer")
        #expect(grant.scope == .team("frontend"))
        #expect(grant.permissions == [Permission(resource: "application", action: "read"), Permission(resource: "operation", action: "read")])
    }

    @Test("A role without scope applies to the whole tenant (scope nil)")
    func grantWithoutScope() throws {
        let grant = try decodeJSON(RoleGrant.self, #"{"role":"admin","permissions":["*:*"]}"#)
        #expect(grant.scope == nil)
        #expect(grant.permissions == [Permission(resource: "*", action: "*")])
        #expect(try decodeJSON(RoleGrant.self, #"{"role":"admin","scope":null,"permissions":[]}"#).scope == nil)
    }

    @Test("A role without permissions has none")
    func grantWithoutPermissions() throws {
        let grant = try decodeJSON(RoleGrant.self, #"{"role":"viewer","scope":"tenant:acme"}"#)
        #expect(grant.permissions.isEmpty)
        #expect(grant.scope == .tenant("acme"))
        #expect(try decodeJSON(RoleGrant.self, #"{"role":"viewer","permissions":null}"#).permissions.isEmpty)
        #expect(try decodeJSON(RoleGrant.self, #"{"role":"viewer"}"#) == RoleGrant(role: "viewer"))
    }

    @Test(
        "Malformed roles fail to decode",
        arguments: [
            #"{"role":"dev","scope":"org:acme"}"#,
            #"{"role":"dev","scope":"team:"}"#,
            #"{"role":"dev","scope":5}"#,
            #"{"role":"dev","permissions":["read"]}"#,
            #"{"role":"dev","permissions":"application:read"}"#,
            #"{"scope":"team:x","permissions":[]}"#,
            #"{"role":7}"#,
            #"["developer"]"#,
        ])
    func grantMalformed(_ json: String) {
        #expect(throws: DecodingError.self) { try decodeJSON(RoleGrant.self, json) }
    }

    @Test("A role grant round trips through JSON with the same field names")
    func grantRoundTrip() throws {
        let grants = [
            RoleGrant(role: "developer", scope: .team("frontend"), permissions: [Permission(resource: "application", action: "read")]),
            RoleGrant(role: "admin", scope: .tenant("acme"), permissions: [Permission(resource: "resource", type: "database", action: "*")]),
            RoleGrant(role: "bare"),
        ]
        let bytes = try encodeJSON(grants)
        #expect(try decodeJSON([RoleGrant].self, bytes) == grants)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]])
        #expect(array[0]["role"] as? String == "developer")
        #expect(array[0]["scope"] as? String == "team:frontend")
        #expect(array[0]["permissions"] as? [String] == ["application:read"])
        #expect(array[1]["permissions"] as? [String] == ["resource:database:*"])
        #expect(array[2]["scope"] == nil || array[2]["scope"] is NSNull)
    }

    @Test("RoleGrant defaults: no scope, no permissions")
    func grantDefaults() {
        let grant = RoleGrant(role: "r")
        #expect(grant.scope == nil)
        #expect(grant.permissions.isEmpty)
    }

    // MARK: - Identity

    @Test("Identity defaults to a JWT without expiry")
    func identityDefaults() {
        let identity = Identity(subject: "alice", tenant: "acme", roles: [])
        #expect(identity.subject == "alice")
        #expect(identity.tenant == "acme")
        #expect(identity.roles.isEmpty)
        #expect(identity.expiresAt == nil)
        #expect(identity.kind == .jwt)
    }

    @Test("Identity keeps what it is given")
    func identityFields() {
        let expiry = utcDate(2026, 11, 22, 11, 0, 0)
        let roles = [RoleGrant(role: "developer", scope: .team("frontend"), permissions: [Permission(resource: "operation", action: "read")])]
        let identity = Identity(subject: "svc", tenant: "acme", roles: roles, expiresAt: expiry, kind: .apiKey)
        #expect(identity.roles == roles)
        #expect(identity.expiresAt == expiry)
        #expect(identity.kind == .apiKey)
        #expect(identity != Identity(subject: "svc", tenant: "acme", roles: roles, expiresAt: expiry, kind: .jwt))
    }

    @Test("Identity kinds have stable wire names")
    func kindNames() throws {
        #expect(Identity.Kind.jwt.rawValue == "jwt")
        #expect(Identity.Kind.apiKey.rawValue == "api_key")
        #expect(try decodeJSON([Identity.Kind].self, #"["jwt","api_key"]"#) == [.jwt, .apiKey])
        #expect(throws: DecodingError.self) { try decodeJSON([Identity.Kind].self, #"["apiKey"]"#) }
    }
}
