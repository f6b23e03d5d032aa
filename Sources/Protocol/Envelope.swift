import Foundation

/// The REST envelope of API.md: `{"success":…,"data"|"error":…,"meta":…,"pagination"?}`.
public struct Envelope<Payload: Encodable & Sendable>: Encodable, Sendable {
    public var success: Bool
    public var data: Payload?
    public var error: WireError?
    public var meta: Meta
    public var pagination: Pagination?

    public static func ok(_ data: Payload, meta: Meta, pagination: Pagination? = nil) -> Envelope {
        Envelope(success: true, data: data, error: nil, meta: meta, pagination: pagination)
    }

    public static func failure(_ error: WireError, meta: Meta) -> Envelope {
        Envelope(success: false, data: nil, error: error, meta: meta, pagination: nil)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(success, forKey: .success)
        if success { try container.encode(data, forKey: .data) }
        try container.encodeIfPresent(error, forKey: .error)
        try container.encode(meta, forKey: .meta)
        try container.encodeIfPresent(pagination, forKey: .pagination)
    }

    enum CodingKeys: String, CodingKey {
        case success, data, error, meta, pagination
    }
}

/// An envelope with no payload, for errors.
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}

public struct Meta: Codable, Sendable, Equatable {
    public var requestID: String
    public var timestamp: String
    public var apiVersion: String
    /// Rate-limit answers add these (API.md).
    public var retryAfter: Int?
    public var limit: Int?
    public var remaining: Int?
    public var reset: String?

    public init(requestID: String, timestamp: Date = Date(), apiVersion: String = "v1") {
        self.requestID = requestID
        self.timestamp = Timestamp.format(timestamp)
        self.apiVersion = apiVersion
    }

    enum CodingKeys: String, CodingKey {
        case requestID = "request_id"
        case timestamp
        case apiVersion = "api_version"
        case retryAfter = "retry_after"
        case limit, remaining, reset
    }
}

public struct Pagination: Codable, Sendable, Equatable {
    public var page: Int
    public var perPage: Int
    public var total: Int
    public var totalPages: Int

    public init(page: Int, perPage: Int, total: Int) {
        self.page = page
        self.perPage = perPage
        self.total = total
        self.totalPages = perPage > 0 ? (total + perPage - 1) / perPage : 0
    }

    enum CodingKeys: String, CodingKey {
        case page
        case perPage = "per_page"
        case total
        case totalPages = "total_pages"
    }
}
