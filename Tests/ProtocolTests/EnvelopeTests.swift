import Foundation
import Testing

@testable import Protocol

private struct Item: Encodable, Sendable {
    let id: String
    let count: Int
}

// Mirrors of API.md's envelope, with its field names spelled out.
private struct WireMeta: Decodable {
    let request_id: String
    let timestamp: String
    let api_version: String
    let retry_after: Int?
    let limit: Int?
    let remaining: Int?
    let reset: String?
}

private struct WirePagination: Decodable, Equatable {
    let page: Int
    let per_page: Int
    let total: Int
    let total_pages: Int
}

private struct WireEnvelope: Decodable {
    struct WireItem: Decodable {
        let id: String
        let count: Int
    }
    struct Failure: Decodable {
        let code: String
        let message: String
        let details: JSONValue?
    }
    let success: Bool
    let data: WireItem?
    let error: Failure?
    let meta: WireMeta
    let pagination: WirePagination?
}

@Suite("Envelope")
struct EnvelopeTests {
    static let now = utcDate(2026, 11, 22, 10, 30, 0)

    @Test("A success carries success, data and meta; no error, no pagination unless given")
    func success() throws {
        let envelope = Envelope.ok(Item(id: "op_1", count: 3), meta: Meta(requestID: "req_abc", timestamp: Self.now))
        let bytes = try encodeJSON(envelope)
        #expect(try jsonKeys(bytes) == ["success", "data", "meta"])
        #expect(try jsonKeys(jsonObject(bytes)["meta"]) == ["request_id", "timestamp", "api_version"])

        let wire = try decodeJSON(WireEnvelope.self, bytes)
        #expect(wire.success == true)
        #expect(wire.data?.id == "op_1")
        #expect(wire.data?.count == 3)
        #expect(wire.error == nil)
        #expect(wire.meta.request_id == "req_abc")
        #expect(wire.meta.api_version == "v1")
        #expect(wire.meta.timestamp == "2026-11-22T10:30:00.000Z")
        #expect(utf8(bytes).contains(#""success":true"#))
    }

    @Test("A failure carries success false, error and meta; never data")
    func failure() throws {
        let error = WireError(code: .validationError, message: "progress must be 0–100", details: ["field": "progress", "reason": "out of range"])
        let envelope = Envelope<Item>.failure(error, meta: Meta(requestID: "req_def", timestamp: Self.now))
        let bytes = try encodeJSON(envelope)
        #expect(try jsonKeys(bytes) == ["success", "error", "meta"])
        #expect(try jsonKeys(jsonObject(bytes)["error"]) == ["code", "message", "details"])

        let wire = try decodeJSON(WireEnvelope.self, bytes)
        #expect(wire.success == false)
        #expect(wire.data == nil)
        #expect(wire.error?.code == "VALIDATION_ERROR")
        #expect(wire.error?.message == "progress must be 0–100")
        #expect(wire.error?.details == ["field": "progress", "reason": "out of range"])
        #expect(wire.meta.request_id == "req_def")
        #expect(wire.meta.api_version == "v1")
        #expect(utf8(bytes).contains(#""success":false"#))
    }

    @Test("A failure without details has no details key; Empty payloads work")
    func failureWithoutDetails() throws {
        let bytes = try encodeJSON(Envelope<Empty>.failure(WireError(code: .notFound, message: "no such operation"), meta: Meta(requestID: "r")))
        #expect(try jsonKeys(bytes) == ["success", "error", "meta"])
        #expect(try jsonKeys(jsonObject(bytes)["error"]) == ["code", "message"])
        #expect(try jsonObject(bytes)["data"] == nil)
    }

    @Test("Envelope.ok with an Empty payload writes an empty data object")
    func emptyPayload() throws {
        let bytes = try encodeJSON(Envelope.ok(Empty(), meta: Meta(requestID: "r")))
        let data = try #require(try jsonObject(bytes)["data"] as? [String: Any])
        #expect(data.isEmpty)
    }

    @Test("Pagination is written with page, per_page, total and total_pages")
    func pagination() throws {
        let envelope = Envelope.ok(
            [Item(id: "a", count: 1)], meta: Meta(requestID: "req_1", timestamp: Self.now), pagination: Pagination(page: 1, perPage: 50, total: 150))
        let bytes = try encodeJSON(envelope)
        #expect(try jsonKeys(bytes) == ["success", "data", "meta", "pagination"])
        #expect(try jsonKeys(jsonObject(bytes)["pagination"]) == ["page", "per_page", "total", "total_pages"])
        struct Wire: Decodable { let pagination: WirePagination }
        #expect(try decodeJSON(Wire.self, bytes).pagination == WirePagination(page: 1, per_page: 50, total: 150, total_pages: 3))
    }

    @Test(
        "total_pages is total / per_page rounded up, 0 when per_page is 0",
        arguments: [
            (150, 50, 3), (151, 50, 4), (149, 50, 3), (100, 50, 2), (50, 50, 1), (1, 50, 1), (0, 50, 0),
            (7, 1, 7), (10, 3, 4), (10, 0, 0), (0, 0, 0), (10, -5, 0),
        ])
    func totalPages(_ total: Int, _ perPage: Int, _ expected: Int) {
        let pagination = Pagination(page: 1, perPage: perPage, total: total)
        #expect(pagination.totalPages == expected)
        #expect(pagination.total == total)
        #expect(pagination.perPage == perPage)
    }

    @Test("Pagination round trips through JSON")
    func paginationCodable() throws {
        let pagination = Pagination(page: 2, perPage: 25, total: 60)
        #expect(try decodeJSON(Pagination.self, try encodeJSON(pagination)) == pagination)
    }

    // MARK: - Meta

    @Test("Meta defaults: api_version v1, timestamp now")
    func metaDefaults() throws {
        let before = Date()
        let meta = Meta(requestID: "req_x")
        let after = Date()
        #expect(meta.apiVersion == "v1")
        #expect(meta.requestID == "req_x")
        let stamp = try #require(Timestamp.parse(meta.timestamp))
        #expect(stamp >= before.addingTimeInterval(-0.001) && stamp <= after.addingTimeInterval(0.001))
        #expect(meta.retryAfter == nil && meta.limit == nil && meta.remaining == nil && meta.reset == nil)
    }

    @Test("Rate-limit meta adds retry_after, limit, remaining and reset")
    func rateLimitMeta() throws {
        var meta = Meta(requestID: "req_rl", timestamp: Self.now)
        meta.retryAfter = 60
        meta.limit = 100
        meta.remaining = 0
        meta.reset = "2026-11-22T10:31:00.000Z"
        let bytes = try encodeJSON(Envelope<Empty>.failure(WireError(code: .rateLimitExceeded, message: "slow down"), meta: meta))
        #expect(
            try jsonKeys(jsonObject(bytes)["meta"]) == [
                "request_id", "timestamp", "api_version", "retry_after", "limit", "remaining", "reset",
            ])
        let wire = try decodeJSON(WireEnvelope.self, bytes)
        #expect(wire.error?.code == "RATE_LIMIT_EXCEEDED")
        #expect(wire.meta.retry_after == 60)
        #expect(wire.meta.limit == 100)
        #expect(wire.meta.remaining == 0)
        #expect(wire.meta.reset == "2026-11-22T10:31:00.000Z")
    }

    @Test("Meta round trips through JSON")
    func metaCodable() throws {
        var meta = Meta(requestID: "req_1", timestamp: Self.now, apiVersion: "v2")
        meta.limit = 5
        #expect(try decodeJSON(Meta.self, try encodeJSON(meta)) == meta)
    }
}
