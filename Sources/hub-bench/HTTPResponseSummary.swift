/// What the bench keeps of one HTTP response: enough to drive an operation's life
/// (`ETag` = its version, `Location` = its id) and to time the exchange.
struct HTTPResponseSummary: Sendable {
    /// HTTP status; 0 when the connection ended before the response did.
    var status = 0
    /// `ETag: "N"` as N (nil when absent or not a version number).
    var version: Int?
    /// Last path segment of `Location` (the id of a created operation).
    var locationID: String?
    /// CLOCK_MONOTONIC when the request was written.
    var sentNanos: UInt64 = 0
    /// CLOCK_MONOTONIC when the response head was read.
    var headNanos: UInt64 = 0
    /// CLOCK_MONOTONIC when the response ended.
    var endNanos: UInt64 = 0
    var bodyBytes = 0
    /// The start of the body of an error response (≥ 400), for the report.
    var bodySample: String?

    /// Request written → response end, microseconds.
    var latencyMicros: UInt64 { self.endNanos > self.sentNanos ? (self.endNanos - self.sentNanos) / 1000 : 0 }

    /// Parses `"7"`, `W/"7"` or `7`.
    static func version(fromETag text: String) -> Int? {
        var tag = Substring(text)
        if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
        if tag.hasPrefix("\""), tag.hasSuffix("\""), tag.count >= 2 { tag = tag.dropFirst().dropLast() }
        return Int(tag)
    }
}
