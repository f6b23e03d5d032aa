import Foundation
import Testing

@testable import Protocol

@Suite("Timestamp")
struct TimestampTests {
    @Test("Dates are written as RFC 3339 UTC with milliseconds")
    func format() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(utcDate(2026, 11, 22, 10, 30, 0)) == "2026-11-22T10:30:00.000Z")
        #expect(Timestamp.format(utcDate(2026, 11, 22, 10, 30, 0).addingTimeInterval(0.5)) == "2026-11-22T10:30:00.500Z")
        #expect(Timestamp.format(utcDate(2024, 2, 29, 23, 59, 59).addingTimeInterval(0.25)) == "2024-02-29T23:59:59.250Z")
    }

    @Test(
        "The calendar arithmetic agrees with Foundation's ISO 8601 formatter (on exactly representable fractions)",
        arguments: [-86_400_000.5, -1.0, 0, 951_782_400, 1_709_251_199.75, 4_107_542_400, 253_402_300_799.5])
    func agreesWithFoundation(_ seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        let foundation = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
        #expect(Timestamp.format(date) == date.formatted(foundation))
    }

    @Test("The written form has a fixed shape")
    func shape() throws {
        let text = Timestamp.format(Date())
        #expect(text.utf8.count == 24)
        #expect(text.hasSuffix("Z"))
        let chars = Array(text)
        #expect(chars[4] == "-" && chars[7] == "-" && chars[10] == "T" && chars[13] == ":" && chars[16] == ":" && chars[19] == ".")
    }

    @Test(
        "Parsing reads timestamps with and without fractional seconds",
        arguments: [
            ("2026-11-22T10:30:00Z", 0.0),
            ("2026-11-22T10:30:00.000Z", 0.0),
            ("2026-11-22T10:30:00.500Z", 0.5),
            ("2026-11-22T10:30:00.250Z", 0.25),
        ])
    func parse(_ text: String, _ fraction: Double) throws {
        let date = try #require(Timestamp.parse(text))
        #expect(abs(date.timeIntervalSince(utcDate(2026, 11, 22, 10, 30, 0)) - fraction) < 0.0005)
    }

    @Test("Parsing refuses what is not a timestamp", arguments: ["", "not a date", "2026-11-22", "10:30:00", "2026-13-40T00:00:00Z", "yesterday"])
    func parseInvalid(_ text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test(
        "format and parse round trip at millisecond precision",
        arguments: [0.0, 1_795_343_400, 1_795_343_400.123, 1_795_343_400.999, 946_684_799.001, 4_102_444_800.5])
    func roundTrip(_ seconds: Double) throws {
        let date = Date(timeIntervalSince1970: seconds)
        let text = Timestamp.format(date)
        let parsed = try #require(Timestamp.parse(text))
        #expect(abs(parsed.timeIntervalSince(date)) < 0.001)
    }

    @Test("Formatting a parsed timestamp gives back the same text, for every millisecond")
    func textRoundTrip() {
        let base = utcDate(2026, 11, 22, 10, 30, 0)
        var changed: [String] = []
        for millis in 0..<1000 {
            let text = "2026-11-22T10:30:00." + String(repeating: "0", count: 3 - String(millis).count) + String(millis) + "Z"
            guard let date = Timestamp.parse(text) else {
                Issue.record("\(text) does not parse")
                continue
            }
            #expect(abs(date.timeIntervalSince(base) - Double(millis) / 1000) < 0.0005)
            let again = Timestamp.format(date)
            if again != text { changed.append("\(text) → \(again)") }
        }
        let changedCount = changed.count
        let examples = changed.prefix(3).joined(separator: ", ")
        #expect(changedCount == 0, "\(changedCount) of 1000 change, e.g. \(examples)")
    }
}
