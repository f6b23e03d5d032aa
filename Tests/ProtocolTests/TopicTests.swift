import Foundation
import Testing

@testable import Protocol

@Suite("Topic")
struct TopicTests {
    // MARK: - Grammar: accepted

    @Test(
        "Valid topics of every documented shape are accepted as written",
        arguments: [
            "user",
            "application",
            "user:notifications",
            "application:app_123:status",
            "operation:op_456:progress",
            "resource:db-1:health",
            "resource:db-1:status",
            "user:bob:notifications",
            "metrics.v2:host-1.eu-west:cpu_load",
            "A:Z:a:z:0",
            "a:b:c:d:e",
            "UPPER_lower-09.x",
            "_:-:.",
            "operation:*:progress",
            "application:*:status",
            "resource:*:health",
            "a:*",
            "a:*:*:*:*",
            "a:b:*:d:*",
        ])
    func acceptsValidTopic(_ text: String) throws {
        let topic = try Topic(text)
        #expect(topic.rawValue == text)
        #expect(topic.description == text)
    }

    @Test("Every character of the segment alphabet is accepted")
    func acceptsWholeAlphabet() throws {
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
        let topic = try Topic("family:\(alphabet)")
        #expect(topic.segments.last.map(String.init) == alphabet)
    }

    @Test("One segment and five segments are accepted")
    func segmentCountBounds() throws {
        #expect(try Topic("a").segments.count == 1)
        #expect(try Topic("a:b:c:d:e").segments.count == 5)
    }

    @Test("Six segments are refused")
    func sixSegments() {
        #expect(throws: TopicError.tooManySegments) { try Topic("a:b:c:d:e:f") }
        #expect(throws: TopicError.tooManySegments) { try Topic("a:*:*:*:*:*") }
        #expect(throws: TopicError.tooManySegments) { try Topic("a:b:c:d:e:f:g:h") }
    }

    // MARK: - Grammar: length limits

    @Test("A topic of exactly 255 bytes is accepted, 256 is refused")
    func totalByteLimit() throws {
        let exact = repeated("a", 127) + ":" + repeated("b", 127)
        #expect(exact.utf8.count == 255)
        #expect(try Topic(exact).rawValue == exact)

        let fiveSegments = repeated("a", 51) + ":" + repeated("b", 50) + ":" + repeated("c", 50) + ":"
            + repeated("d", 50) + ":" + repeated("e", 50)
        #expect(fiveSegments.utf8.count == 255)
        #expect(try Topic(fiveSegments).segments.count == 5)

        let over = repeated("a", 128) + ":" + repeated("b", 127)
        #expect(over.utf8.count == 256)
        #expect(throws: TopicError.tooLong(256)) { try Topic(over) }
    }

    @Test("Far too long topics report their byte length")
    func tooLongReportsLength() {
        let text = repeated("ab:", 200) + "c"
        #expect(throws: TopicError.tooLong(text.utf8.count)) { try Topic(text) }
    }

    @Test("A segment of 128 bytes is accepted, 129 is refused, in any position")
    func segmentByteLimit() throws {
        let s128 = repeated("x", 128)
        let s129 = repeated("x", 129)
        #expect(try Topic(s128).rawValue == s128)
        #expect(try Topic("family:\(s128)").segments[1].utf8.count == 128)
        #expect(try Topic("family:\(s128):status").segments[1].utf8.count == 128)
        #expect(try Topic("a:b:\(s128)").segments[2].utf8.count == 128)

        #expect(throws: TopicError.segmentTooLong) { try Topic(s129) }
        #expect(throws: TopicError.segmentTooLong) { try Topic("family:\(s129)") }
        #expect(throws: TopicError.segmentTooLong) { try Topic("family:\(s129):status") }
        #expect(throws: TopicError.segmentTooLong) { try Topic("\(s129):id:status") }
    }

    // MARK: - Grammar: refused

    @Test("The empty string is refused")
    func emptyTopic() {
        #expect(throws: TopicError.empty) { try Topic("") }
    }

    @Test(
        "Characters outside [A-Za-z0-9_.-] are refused",
        arguments: [
            "a b", " a", "a ", "application:app 1:status",
            "a/b", "application/app_1", "a#b", "a?b", "a=b", "a&b", "a%20b", "a+b", "a@b", "a,b", "a;b",
            "a|b", "a\\b", "a'b", "a\"b", "a~b", "a!b", "a$b", "a(b)", "a[b]", "a{b}", "a<b>", "a^b", "a`b",
            "a\tb", "a\nb", "a\rb", "a\u{0}b", "\u{0}", "a:\u{0}", "a\u{7F}b",
            "applicatión:x", "é", "日本:status", "a🚀", "user:bób:notifications", "a\u{00A0}b", "a\u{200B}b",
            "ａ",  // full-width a
        ])
    func invalidCharacter(_ text: String) {
        #expect(throws: TopicError.invalidCharacter) { try Topic(text) }
    }

    @Test(
        "A `*` that is not a whole segment is refused",
        arguments: ["a*", "x:a*", "x:*a", "x:a*b", "x:**", "x:***", "x:*-", "x:a*:c", "operation:op_*:progress", "app*:x"])
    func starInsideSegment(_ text: String) {
        #expect(throws: TopicError.invalidCharacter) { try Topic(text) }
    }

    @Test(
        "Empty segments are refused",
        arguments: [":", "::", "a::b", ":a", "a:", ":a:b", "a:b:", "a:b::", "application::status", "a:b::c:d"])
    func emptySegment(_ text: String) {
        #expect(throws: TopicError.emptySegment) { try Topic(text) }
    }

    @Test("A wildcard family is refused", arguments: ["*", "*:x", "*:x:y", "*:*", "*:*:status"])
    func wildcardFamily(_ text: String) {
        #expect(throws: TopicError.wildcardFamily) { try Topic(text) }
    }

    @Test("Every refusal has a readable message")
    func errorMessages() {
        let all: [TopicError] = [
            .empty, .tooLong(300), .tooManySegments, .emptySegment, .segmentTooLong, .invalidCharacter, .wildcardFamily,
            .wildcardNotAllowed,
        ]
        for error in all {
            #expect(!error.message.isEmpty)
        }
        #expect(Set(all.map(\.message)).count == all.count)
        #expect(TopicError.tooLong(300).message.contains("300"))
        #expect(TopicError.tooLong(300).message.contains("255"))
        #expect(TopicError.tooManySegments.message.contains("5"))
        #expect(TopicError.segmentTooLong.message.contains("128"))
    }

    // MARK: - Accessors

    @Test("segments, family and isPattern")
    func accessors() throws {
        let topic = try Topic("application:app_123:status")
        #expect(topic.segments == ["application", "app_123", "status"])
        #expect(topic.family == "application")
        #expect(!topic.isPattern)

        let single = try Topic("user")
        #expect(single.segments == ["user"])
        #expect(single.family == "user")
        #expect(!single.isPattern)

        let pattern = try Topic("operation:*:progress")
        #expect(pattern.family == "operation")
        #expect(pattern.isPattern)
        #expect(try Topic("a:b:c:d:*").isPattern)
    }

    @Test("Topics compare by their text")
    func equality() throws {
        #expect(try Topic("a:b") == Topic("a:b"))
        #expect(try Topic("a:b") != Topic("a:B"))
        #expect(try Set([Topic("a:b"), Topic("a:b"), Topic("a:c")]).count == 2)
    }

    // MARK: - entity

    @Test(
        "entity names the family and id of a family:id:channel topic",
        arguments: [
            ("application:app_123:status", "application", "app_123"),
            ("operation:op_456:progress", "operation", "op_456"),
            ("resource:db-1:health", "resource", "db-1"),
            ("user:bob:notifications", "user", "bob"),
        ])
    func entity(_ text: String, family: String, id: String) throws {
        let entity = try #require(try Topic(text).entity)
        #expect(entity == EntityRef(family: family, id: id))
        #expect(entity.family == family)
        #expect(entity.id == id)
        #expect(entity.description == "\(family):\(id)")
    }

    @Test(
        "entity is nil for other shapes and for a wildcard id",
        arguments: ["user", "user:notifications", "a:b:c:d", "a:b:c:d:e", "operation:*:progress"])
    func noEntity(_ text: String) throws {
        #expect(try Topic(text).entity == nil)
    }

    @Test("A wildcard channel still names the entity")
    func wildcardChannelEntity() throws {
        #expect(try Topic("resource:db-1:*").entity == EntityRef(family: "resource", id: "db-1"))
    }

    // MARK: - matches

    @Test(
        "A pattern matches topics with the same segment count whose literal segments are equal",
        arguments: [
            ("operation:*:progress", "operation:op_456:progress", true),
            ("application:*:status", "application:app_123:status", true),
            ("a:*", "a:b", true),
            ("a:*:*", "a:b:c", true),
            ("a:b:*:d:*", "a:b:c:d:e", true),
            ("resource:db-1:*", "resource:db-1:health", true),
            ("resource:db-1:*", "resource:db-1:status", true),
            // literal segment differs
            ("operation:*:progress", "operation:op_456:status", false),
            ("operation:*:progress", "application:op_456:progress", false),
            ("a:b:*:d:*", "a:b:c:x:e", false),
            // `*` is exactly one segment, never zero and never several
            ("a:*", "a", false),
            ("a:*", "a:b:c", false),
            ("a:*:c", "a:b:x:c", false),
            ("a:*:c", "a:c", false),
            ("operation:*:progress", "operation:progress", false),
            ("operation:*:progress", "operation:x:y:progress", false),
            // concrete against concrete: equality
            ("application:app_1:status", "application:app_1:status", true),
            ("application:app_1:status", "application:app_2:status", false),
            ("user", "user", true),
            ("user", "users", false),
            ("a:b", "a:b:c", false),
            // segments compare whole, not as prefixes, and case-sensitively
            ("a:bc", "a:b", false),
            ("a:b", "a:B", false),
        ])
    func matches(_ pattern: String, _ concrete: String, _ expected: Bool) throws {
        #expect(try Topic(pattern).matches(Topic(concrete)) == expected)
    }

    @Test("A concrete topic does not match a pattern (matching is not symmetric)")
    func matchingIsDirected() throws {
        let pattern = try Topic("operation:*:progress")
        let concrete = try Topic("operation:op_1:progress")
        #expect(pattern.matches(concrete))
        #expect(!concrete.matches(pattern))
    }

    @Test("Every topic matches itself", arguments: ["user", "a:b", "operation:*:progress", "a:b:c:d:e"])
    func matchesItself(_ text: String) throws {
        let topic = try Topic(text)
        #expect(topic.matches(topic))
    }

    // MARK: - matchingPatterns

    @Test(
        "matchingPatterns: 2^(k-1)-1 distinct valid patterns, each matching the topic, none equal to it",
        arguments: [
            "user",
            "user:notifications",
            "application:app_123:status",
            "a:b:c:d",
            "a:b:c:d:e",
            repeated("f", 100) + ":" + repeated("i", 100) + ":c",
        ])
    func matchingPatterns(_ text: String) throws {
        let topic = try Topic(text)
        let k = topic.segments.count
        let patterns = topic.matchingPatterns
        #expect(patterns.count == (1 << (k - 1)) - 1)
        #expect(Set(patterns).count == patterns.count)
        for pattern in patterns {
            #expect(pattern.matches(topic), "\(pattern) should match \(topic)")
            #expect(pattern != topic)
            #expect(pattern.rawValue != topic.rawValue)
            #expect(pattern.isPattern)
            #expect(pattern.family == topic.family)
            #expect(pattern.segments.count == k)
            #expect(throws: Never.self) { try Topic(pattern.rawValue) }
            for (p, s) in zip(pattern.segments, topic.segments) {
                #expect(p == "*" || p == s)
            }
        }
    }

    @Test("matchingPatterns of a three-segment topic are exactly the three wildcard forms")
    func matchingPatternsThreeSegments() throws {
        let patterns = try Topic("application:app_123:status").matchingPatterns
        #expect(Set(patterns.map(\.rawValue)) == ["application:*:status", "application:app_123:*", "application:*:*"])
    }

    @Test("A subscriber's pattern is found among the matching patterns of a published topic")
    func subscribedPatternIsFound() throws {
        let published = try Topic("operation:op_456:progress")
        #expect(published.matchingPatterns.contains(try Topic("operation:*:progress")))
        #expect(!published.matchingPatterns.contains(try Topic("application:*:progress")))
        #expect(!published.matchingPatterns.contains(try Topic("operation:*:status")))
    }

    @Test("matchingPatterns of one topic do not match a topic of another family")
    func patternsStayInFamily() throws {
        let topic = try Topic("application:app_1:status")
        let other = try Topic("operation:app_1:status")
        #expect(topic.matchingPatterns.allSatisfy { !$0.matches(other) })
    }

    // MARK: - Codable

    @Test("Topic encodes as a bare JSON string and decodes back")
    func codableRoundTrip() throws {
        let topics = try [Topic("application:app_123:status"), Topic("operation:*:progress"), Topic("user")]
        let bytes = try encodeJSON(topics)
        #expect(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String] == topics.map(\.rawValue))
        #expect(try decodeJSON([Topic].self, bytes) == topics)
    }

    @Test(
        "Decoding an invalid topic fails",
        arguments: [#""a b""#, #""""#, #""*:x""#, #""a::b""#, #""a:b:c:d:e:f""#, "5", "null", "[\"a\"]"])
    func decodingInvalidTopicFails(_ json: String) {
        #expect(throws: DecodingError.self) { try decodeJSON(Topic.self, json) }
        #expect(throws: DecodingError.self) { try decodeJSON([Topic].self, "[\(json)]") }
    }

    @Test("Decoding an invalid topic reports where it was")
    func decodingErrorPath() throws {
        struct Holder: Decodable { var topic: Topic }
        do {
            _ = try decodeJSON(Holder.self, #"{"topic":"bad topic"}"#)
            Issue.record("expected a decoding error")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.codingPath.map(\.stringValue) == ["topic"])
        }
    }
}
