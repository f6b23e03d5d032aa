import Foundation
import Testing

@testable import Protocol

private func decode(_ text: String) throws(ClientMessageError) -> ClientMessage {
    try ClientMessage.decode(Array(text.utf8))
}

/// The error `decode` throws for `bytes`, or nil when it decodes.
private func decodeError(_ bytes: [UInt8]) -> ClientMessageError? {
    do {
        _ = try ClientMessage.decode(bytes)
        return nil
    } catch {
        return error
    }
}

private func decodeError(_ text: String) -> ClientMessageError? {
    decodeError(Array(text.utf8))
}

@Suite("ClientMessage")
struct ClientMessageTests {
    // MARK: - Every message of PROTOCOL.md

    @Test("subscribe, as in PROTOCOL.md, with since and snapshot")
    func subscribeFull() throws {
        let frame = """
            {"type":"subscribe","id":"1","topics":["application:app_123:status","operation:op_456:progress"],
             "since":{"operation:op_456:progress":"17"},"snapshot":true}
            """
        let message = try decode(frame)
        #expect(
            message
                == .subscribe(
                    .init(
                        id: "1", topics: ["application:app_123:status", "operation:op_456:progress"],
                        since: ["operation:op_456:progress": "17"], snapshot: true)))
        #expect(message.id == "1")
        guard case .subscribe(let subscribe) = message else {
            Issue.record("not a subscribe: \(message)")
            return
        }
        #expect(subscribe.topics == ["application:app_123:status", "operation:op_456:progress"])
        #expect(subscribe.since == ["operation:op_456:progress": "17"])
        #expect(subscribe.snapshot)
    }

    @Test("subscribe without id, since or snapshot takes the defaults")
    func subscribeMinimal() throws {
        let message = try decode(#"{"type":"subscribe","topics":["user:notifications"]}"#)
        #expect(message == .subscribe(.init(id: nil, topics: ["user:notifications"], since: [:], snapshot: false)))
        #expect(message.id == nil)
    }

    @Test("subscribe with snapshot false and several since entries")
    func subscribeSinceAndSnapshotFalse() throws {
        let message = try decode(
            #"{"type":"subscribe","topics":["a:1:x","b:2:y"],"since":{"a:1:x":"e1:4","b:2:y":"r1:1700000000000-0"},"snapshot":false}"#
        )
        #expect(
            message
                == .subscribe(
                    .init(topics: ["a:1:x", "b:2:y"], since: ["a:1:x": "e1:4", "b:2:y": "r1:1700000000000-0"], snapshot: false)
                ))
    }

    @Test("Null optional fields count as absent")
    func nullOptionals() throws {
        let message = try decode(#"{"type":"subscribe","id":null,"topics":["a:b"],"since":null,"snapshot":null}"#)
        #expect(message == .subscribe(.init(id: nil, topics: ["a:b"])))
    }

    @Test("Topics are passed on as written: each is validated later, on its own")
    func topicsNotValidatedHere() throws {
        let message = try decode(#"{"type":"subscribe","id":"5","topics":["bad topic","a:b","*:x"]}"#)
        #expect(message == .subscribe(.init(id: "5", topics: ["bad topic", "a:b", "*:x"])))
    }

    @Test("unsubscribe, with and without id")
    func unsubscribe() throws {
        #expect(
            try decode(#"{"type":"unsubscribe","id":"2","topics":["application:app_123:status"]}"#)
                == .unsubscribe(.init(id: "2", topics: ["application:app_123:status"])))
        let message = try decode(#"{"type":"unsubscribe","topics":["a:b","c"]}"#)
        #expect(message == .unsubscribe(.init(id: nil, topics: ["a:b", "c"])))
        #expect(message.id == nil)
    }

    @Test("ping, with and without id")
    func ping() throws {
        let withID = try decode(#"{"type":"ping","id":"3"}"#)
        #expect(withID == .ping(id: "3"))
        #expect(withID.id == "3")
        #expect(try decode(#"{"type":"ping"}"#) == .ping(id: nil))
    }

    @Test("auth, with and without id")
    func auth() throws {
        let message = try decode(#"{"type":"auth","id":"4","token":"eyJhbGciOiJIUzI1NiJ9.e30.sig"}"#)
        #expect(message == .auth(.init(id: "4", token: "eyJhbGciOiJIUzI1NiJ9.e30.sig")))
        #expect(message.id == "4")
        #expect(try decode(#"{"type":"auth","token":"t"}"#) == .auth(.init(id: nil, token: "t")))
    }

    @Test("The id accessor reads every case")
    func idAccessor() {
        #expect(ClientMessage.subscribe(.init(id: "a", topics: ["x"])).id == "a")
        #expect(ClientMessage.unsubscribe(.init(id: "b", topics: ["x"])).id == "b")
        #expect(ClientMessage.ping(id: "c").id == "c")
        #expect(ClientMessage.auth(.init(id: "d", token: "t")).id == "d")
        #expect(ClientMessage.ping(id: nil).id == nil)
    }

    @Test("Unknown fields are ignored and whitespace is allowed")
    func lenientReading() throws {
        #expect(try decode(#"{"type":"ping","id":"1","extra":{"x":[1,2,null]},"v":2}"#) == .ping(id: "1"))
        #expect(try decode(" \n\t{ \"type\" : \"ping\" }\r\n") == .ping(id: nil))
    }

    @Test("Strings are unescaped")
    func escapes() throws {
        #expect(try decode(#"{"type":"ping","id":"a\"b\\c\u00e9\n"}"#) == .ping(id: "a\"b\\cé\n"))
    }

    @Test("Any collection of bytes can be decoded")
    func byteCollections() throws {
        let text = #"xx{"type":"ping","id":"9"}yy"#
        let bytes = Array(text.utf8)
        #expect(try ClientMessage.decode(bytes[2..<(bytes.count - 2)]) == .ping(id: "9"))
        #expect(try ClientMessage.decode(Data(#"{"type":"ping","id":"9"}"#.utf8)) == .ping(id: "9"))
        #expect(try ClientMessage.decode(#"{"type":"ping","id":"9"}"#.utf8) == .ping(id: "9"))
    }

    // MARK: - INVALID_JSON

    @Test(
        "A frame that is not JSON is INVALID_JSON",
        arguments: [
            "", " ", "\n", "not json", "hello world", "{", "}", "{\"type\":\"ping\"", "{\"type\":\"ping\",", "{\"type\":}",
            "{'type':'ping'}", "{type:\"ping\"}", "{\"type\":\"ping\"}}", "{\"type\":\"ping\"} x", "[1,2", "\"unterminated",
            "nul", "tru", "01x",
        ])
    func invalidJSON(_ frame: String) throws {
        let error = try #require(decodeError(frame))
        #expect(error.code == .invalidJSON)
        #expect(error.code.rawValue == "INVALID_JSON")
        #expect(error.id == nil)
        #expect(!error.message.isEmpty)
    }

    @Test("Bytes that are not UTF-8 are INVALID_JSON")
    func invalidUTF8() throws {
        let error = try #require(decodeError([0xFF, 0xFE, 0x7B, 0x7D]))
        #expect(error.code == .invalidJSON)
        let inString = Array(#"{"type":"ping","id":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(decodeError(inString)?.code == .invalidJSON)
    }

    @Test("An empty frame is INVALID_JSON")
    func emptyFrame() throws {
        let error = try #require(decodeError([UInt8]()))
        #expect(error.code == .invalidJSON)
    }

    // MARK: - INVALID_MESSAGE

    @Test(
        "JSON that is not an object is INVALID_MESSAGE",
        arguments: ["[]", "[1,2]", #"[{"type":"ping"}]"#, #""ping""#, #""""#, "42", "-1.5", "true", "false", "null"])
    func notAnObject(_ frame: String) throws {
        let error = try #require(decodeError(frame))
        #expect(error.code == .invalidMessage)
        #expect(error.code.rawValue == "INVALID_MESSAGE")
        #expect(error.id == nil)
    }

    @Test("A message without a type is INVALID_MESSAGE, and the id is carried back")
    func missingType() throws {
        let error = try #require(decodeError(#"{"id":"7","topics":["a:b"]}"#))
        #expect(error.code == .invalidMessage)
        #expect(error.id == "7")

        #expect(decodeError("{}")?.code == .invalidMessage)
        #expect(decodeError("{}")?.id == nil)
        let nullType = try #require(decodeError(#"{"type":null,"id":"8"}"#))
        #expect(nullType.code == .invalidMessage)
        #expect(nullType.id == "8")
    }

    @Test(
        "Fields of the wrong type are INVALID_MESSAGE",
        arguments: [
            #"{"type":5}"#,
            #"{"type":true}"#,
            #"{"type":["ping"]}"#,
            #"{"type":{"name":"ping"}}"#,
            #"{"type":"subscribe","topics":"application:app_123:status"}"#,
            #"{"type":"subscribe","topics":[1]}"#,
            #"{"type":"subscribe","topics":["a:b",null]}"#,
            #"{"type":"subscribe","topics":{"a:b":true}}"#,
            #"{"type":"subscribe","topics":["a:b"],"since":{"a:b":17}}"#,
            #"{"type":"subscribe","topics":["a:b"],"since":{"a:b":null}}"#,
            #"{"type":"subscribe","topics":["a:b"],"since":["17"]}"#,
            #"{"type":"subscribe","topics":["a:b"],"since":"17"}"#,
            #"{"type":"subscribe","topics":["a:b"],"snapshot":"true"}"#,
            #"{"type":"subscribe","topics":["a:b"],"snapshot":1}"#,
            #"{"type":"subscribe","topics":["a:b"],"snapshot":[true]}"#,
            #"{"type":"unsubscribe","topics":"a:b"}"#,
            #"{"type":"ping","id":3}"#,
            #"{"type":"ping","id":true}"#,
            #"{"type":"ping","id":["3"]}"#,
            #"{"type":"auth","token":5}"#,
            #"{"type":"auth","token":{"jwt":"x"}}"#,
        ])
    func wrongFieldType(_ frame: String) throws {
        let error = try #require(decodeError(frame))
        #expect(error.code == .invalidMessage)
        #expect(!error.message.isEmpty)
    }

    @Test(
        "A readable id is carried back when another field has the wrong type",
        arguments: [
            #"{"type":"subscribe","id":"7","topics":"a:b"}"#,
            #"{"type":"subscribe","id":"7","topics":["a:b"],"since":{"a:b":17}}"#,
            #"{"type":"subscribe","id":"7","topics":["a:b"],"snapshot":"yes"}"#,
            #"{"type":"auth","id":"7","token":5}"#,
        ])
    func idSurvivesWrongFieldType(_ frame: String) throws {
        // PROTOCOL.md: every message may carry an id; the reply carries it back.
        let error = try #require(decodeError(frame))
        #expect(error.code == .invalidMessage)
        #expect(error.id == "7")
    }

    @Test(
        "subscribe and unsubscribe need a non-empty topics array; the id is carried back",
        arguments: [
            #"{"type":"subscribe","id":"x1","topics":[]}"#,
            #"{"type":"subscribe","id":"x1"}"#,
            #"{"type":"subscribe","id":"x1","topics":null}"#,
            #"{"type":"subscribe","id":"x1","topics":[],"snapshot":true}"#,
            #"{"type":"unsubscribe","id":"x1","topics":[]}"#,
            #"{"type":"unsubscribe","id":"x1"}"#,
        ])
    func emptyTopics(_ frame: String) throws {
        let error = try #require(decodeError(frame))
        #expect(error.code == .invalidMessage)
        #expect(error.id == "x1")
    }

    @Test(
        "auth needs a non-empty token; the id is carried back",
        arguments: [#"{"type":"auth","id":"4"}"#, #"{"type":"auth","id":"4","token":""}"#, #"{"type":"auth","id":"4","token":null}"#])
    func authWithoutToken(_ frame: String) throws {
        let error = try #require(decodeError(frame))
        #expect(error.code == .invalidMessage)
        #expect(error.id == "4")
    }

    // MARK: - UNKNOWN_TYPE

    @Test(
        "An unknown type is UNKNOWN_TYPE with the id carried back",
        arguments: [
            (#"{"type":"publish","id":"9","topics":["a:b"]}"#, "9"),
            (#"{"type":"PING","id":"10"}"#, "10"),
            (#"{"type":"Subscribe","id":"11","topics":["a:b"]}"#, "11"),
            (#"{"type":" ping","id":"12"}"#, "12"),
            (#"{"type":"","id":"13"}"#, "13"),
            (#"{"type":"welcome","id":"14"}"#, "14"),
            (#"{"type":"pong","id":"15"}"#, "15"),
        ])
    func unknownType(_ frame: String, _ id: String) throws {
        let error = try #require(decodeError(frame))
        #expect(error.code == .unknownType)
        #expect(error.code.rawValue == "UNKNOWN_TYPE")
        #expect(error.id == id)
    }

    @Test("An unknown type without id is UNKNOWN_TYPE without id")
    func unknownTypeWithoutID() throws {
        let error = try #require(decodeError(#"{"type":"nope"}"#))
        #expect(error.code == .unknownType)
        #expect(error.id == nil)
    }

    // MARK: - id length

    @Test(
        "An id of up to 64 bytes is accepted and carried",
        arguments: [repeated("a", 1), repeated("a", 63), repeated("a", 64), repeated("é", 32), repeated("🚀", 16), ""])
    func idWithinLimit(_ id: String) throws {
        #expect(id.utf8.count <= 64)
        let frame = try String(decoding: JSONSerialization.data(withJSONObject: ["type": "ping", "id": id]), as: UTF8.self)
        #expect(try decode(frame) == .ping(id: id))
    }

    @Test(
        "An id over 64 bytes is INVALID_MESSAGE, counted in bytes not characters",
        arguments: [repeated("a", 65), repeated("a", 1000), repeated("é", 33), repeated("🚀", 16) + "a", repeated("日", 22)])
    func idOverLimit(_ id: String) throws {
        #expect(id.utf8.count > 64)
        for type in ["ping", "subscribe", "auth", "nope"] {
            let object: [String: Any] = ["type": type, "id": id, "topics": ["a:b"], "token": "t"]
            let frame = try String(decoding: JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            let error = try #require(decodeError(frame))
            #expect(error.code == .invalidMessage, "type \(type)")
            #expect(error.id == nil, "an over-long id is not echoed")
        }
    }

    @Test("The id limit is 64 bytes")
    func idLimitConstant() {
        #expect(ClientMessage.maxIDBytes == 64)
    }
}
