import Foundation
import Testing

@testable import Protocol

@Suite("Permission")
struct PermissionTests {
    // MARK: - Parsing

    @Test(
        "Parsing splits resource, type and action",
        arguments: [
            ("*", "*", nil, "*"),
            ("*:*", "*", nil, "*"),
            ("application:read", "application", nil, "read"),
            ("application:*", "application", nil, "*"),
            ("*:read", "*", nil, "read"),
            ("operation:cancel", "operation", nil, "cancel"),
            ("resource:database:read", "resource", "database", "read"),
            ("resource:*:read", "resource", "*", "read"),
            ("resource:database:*", "resource", "database", "*"),
            ("*:*:*", "*", "*", "*"),
        ] as [(String, String, String?, String)])
    func parse(_ text: String, resource: String, type: String?, action: String) throws {
        let permission = try #require(Permission(text))
        #expect(permission.resource == resource)
        #expect(permission.type == type)
        #expect(permission.action == action)
        #expect(permission == Permission(resource: resource, type: type, action: action))
    }

    @Test(
        "Malformed permissions are refused",
        arguments: [
            "", "application", "read", ":", "::", ":::", "a:", ":b", "a::b", "a:b:", ":a:b", "a:b:c:d", "a:b:c:d:e",
            "**", " ", "*:", ":*",
            repeated("r", 65) + ":read", "application:" + repeated("a", 65), "resource:" + repeated("t", 65) + ":read",
        ])
    func malformed(_ text: String) {
        #expect(Permission(text) == nil)
    }

    @Test("Parts of up to 64 bytes are accepted")
    func partLength() {
        let part = repeated("p", 64)
        #expect(Permission("\(part):\(part)") != nil)
        #expect(Permission("\(part):\(part):\(part)")?.type == part)
    }

    @Test(
        "description prints the permission as written",
        arguments: ["application:read", "*:*", "application:*", "*:read", "resource:database:read", "resource:*:read"])
    func description(_ text: String) throws {
        #expect(try #require(Permission(text)).description == text)
    }

    @Test("`*` alone prints as *:*")
    func starDescription() {
        #expect(Permission("*")?.description == "*:*")
        #expect(Permission("*") == Permission("*:*"))
    }

    // MARK: - allows

    @Test(
        "allows: what each grant covers",
        arguments: [
            // everything
            ("*:*", "application:read", true),
            ("*:*", "operation:cancel", true),
            ("*:*", "resource:database:read", true),
            ("*", "key:admin", true),
            ("*", "resource:cache:write", true),
            // any action on one resource
            ("application:*", "application:read", true),
            ("application:*", "application:delete", true),
            ("application:*", "operation:read", false),
            ("application:*", "applications:read", false),
            // one action on any resource
            ("*:read", "application:read", true),
            ("*:read", "operation:read", true),
            ("*:read", "resource:database:read", true),
            ("*:read", "application:write", false),
            ("*:read", "operation:update", false),
            // exact untyped
            ("application:read", "application:read", true),
            ("application:read", "application:write", false),
            ("application:read", "operation:read", false),
            ("application:read", "Application:read", false),
            ("application:read", "application:READ", false),
            ("operation:read", "operation:read", true),
            // an untyped grant covers every type
            ("resource:read", "resource:read", true),
            ("resource:read", "resource:database:read", true),
            ("resource:read", "resource:cache:read", true),
            ("resource:read", "resource:database:write", false),
            // a typed grant covers only its type
            ("resource:database:read", "resource:database:read", true),
            ("resource:database:read", "resource:cache:read", false),
            ("resource:database:read", "resource:read", false),
            ("resource:database:read", "resource:database:write", false),
            ("resource:database:read", "operation:database:read", false),
            // typed wildcards
            ("resource:*:read", "resource:read", true),
            ("resource:*:read", "resource:cache:read", true),
            ("resource:*:read", "resource:cache:write", false),
            ("resource:database:*", "resource:database:delete", true),
            ("resource:database:*", "resource:cache:delete", false),
            ("resource:database:*", "resource:read", false),
            ("*:database:read", "resource:database:read", true),
            ("*:database:read", "resource:cache:read", false),
            ("*:*:*", "resource:read", true),
            ("*:*:*", "resource:cache:write", true),
            // a requirement that is itself a wildcard is only covered by a wildcard
            ("application:read", "application:*", false),
            ("application:*", "application:*", true),
            ("application:read", "*:read", false),
        ])
    func allows(_ granted: String, _ required: String, _ expected: Bool) throws {
        let grant = try #require(Permission(granted))
        let requirement = try #require(Permission(required))
        #expect(grant.allows(requirement) == expected)
    }

    @Test("Every permission allows itself", arguments: ["application:read", "*:*", "resource:database:read", "resource:*:read", "a:*"])
    func reflexive(_ text: String) throws {
        let permission = try #require(Permission(text))
        #expect(permission.allows(permission))
    }

    @Test("The member-wise initialiser and parsing agree")
    func memberwise() {
        #expect(Permission(resource: "operation", action: "read") == Permission("operation:read"))
        #expect(Permission(resource: "resource", type: "database", action: "read") == Permission("resource:database:read"))
        #expect(Permission(resource: "operation", action: "read") != Permission("operation:update"))
    }

    // MARK: - Codable

    @Test("Permissions encode as strings and decode back")
    func codable() throws {
        let permissions = [Permission("application:read"), Permission("resource:database:read"), Permission("*")].compactMap { $0 }
        #expect(permissions.count == 3)
        let bytes = try encodeJSON(permissions)
        #expect(
            try JSONSerialization.jsonObject(with: Data(bytes)) as? [String] == ["application:read", "resource:database:read", "*:*"])
        #expect(try decodeJSON([Permission].self, bytes) == permissions)
        #expect(try decodeJSON([Permission].self, #"["*","operation:read"]"#) == [Permission("*:*"), Permission("operation:read")])
    }

    @Test("Decoding a malformed permission fails", arguments: [#"["read"]"#, #"["a:b:c:d"]"#, #"[""]"#, "[1]", "[null]"])
    func decodingMalformed(_ json: String) {
        #expect(throws: DecodingError.self) { try decodeJSON([Permission].self, json) }
    }
}
