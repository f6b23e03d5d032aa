import Foundation
import Testing

@testable import Protocol

@Suite("Offset")
struct OffsetTests {
    // MARK: - Parse and print

    @Test(
        "Canonical offsets print back exactly as parsed",
        arguments: [
            "e1:0",
            "e1:17",
            "ekz5x9q0a1b:22",
            "e1:18446744073709551615",
            "e1:5-3",
            "r1:1700000000000-0",
            "r1:1700000000000-3",
            "rlq2x8z:1732271400000-18446744073709551615",
            "0:1",
            "abc123:42",
        ])
    func roundTrip(_ text: String) throws {
        let offset = try #require(Offset(text))
        #expect(offset.description == text)
        #expect(Offset(offset.description) == offset)
    }

    @Test(
        "Parsing splits epoch, major and minor",
        arguments: [
            ("e1:17", "e1", UInt64(17), UInt64(0)),
            ("e1:0", "e1", 0, 0),
            ("r9:1700000000000-3", "r9", 1_700_000_000_000, 3),
            ("r9:1700000000000", "r9", 1_700_000_000_000, 0),
            ("e1:18446744073709551615-18446744073709551615", "e1", UInt64.max, UInt64.max),
        ])
    func parsedFields(_ text: String, epoch: String, major: UInt64, minor: UInt64) throws {
        let offset = try #require(Offset(text))
        #expect(offset.epoch == epoch)
        #expect(offset.major == major)
        #expect(offset.minor == minor)
        #expect(offset == Offset(epoch: epoch, major: major, minor: minor))
    }

    @Test("Printing: embedded epochs use `epoch:N`, Redis epochs (prefix r) always `ms-seq`")
    func printing() {
        #expect(Offset(epoch: "e1", major: 17).description == "e1:17")
        #expect(Offset(epoch: "e1", major: 17, minor: 0).description == "e1:17")
        #expect(Offset(epoch: "e1", major: 17, minor: 2).description == "e1:17-2")
        #expect(Offset(epoch: "r1", major: 1_700_000_000_000).description == "r1:1700000000000-0")
        #expect(Offset(epoch: "r1", major: 1_700_000_000_000, minor: 5).description == "r1:1700000000000-5")
    }

    @Test("Non-canonical spellings parse to the same offset as the canonical one")
    func nonCanonicalSpellings() {
        #expect(Offset("r1:5") == Offset("r1:5-0"))
        #expect(Offset("r1:5")?.description == "r1:5-0")
        #expect(Offset("e1:5-0") == Offset("e1:5"))
        #expect(Offset("e1:5-0")?.description == "e1:5")
    }

    @Test(
        "Malformed offsets are refused",
        arguments: [
            // no colon / empty parts
            "", "17", "e1", ":", ":17", "e1:",
            // epoch: lowercase letters and digits only
            "E1:17", "eA:1", "e_1:1", "e-1:1", "e.1:1", "e 1:1", " e1:1", "é:1", "e/1:1", "e+1:1",
            // position: digits, optionally `-digits`
            "e1:abc", "e1:1a", "e1:a1", "e1: 1", "e1:1 ", "e1:0x10", "e1:1.5", "e1:1e3", "e1:١٢",
            // negative
            "e1:-1", "e1:-", "e1:5-", "e1:-5", "e1:5--1", "e1:5-x", "r1:5-a",
            // overflow beyond UInt64
            "e1:18446744073709551616", "e1:99999999999999999999", "r1:5-18446744073709551616",
            // three parts
            "e1:1-2-3", "e1:1:2", "e1:2:3:4", "r1:1-2-3",
        ])
    func malformed(_ text: String) {
        #expect(Offset(text) == nil)
    }

    @Test("A leading plus sign is not an offset")
    func plusSign() {
        // UInt64("+5") is 5, so without an explicit check "e1:+5" would parse and
        // print back as "e1:5": two wire spellings for one position.
        #expect(Offset("e1:+5") == nil)
        #expect(Offset("r1:+5-0") == nil)
        #expect(Offset("r1:5-+1") == nil)
    }

    @Test("An offset is at most 96 bytes")
    func byteLimit() throws {
        let fits = repeated("a", 94) + ":1"
        #expect(fits.utf8.count == 96)
        #expect(Offset(fits)?.description == fits)

        let over = repeated("a", 95) + ":1"
        #expect(over.utf8.count == 97)
        #expect(Offset(over) == nil)

        let longRedis = "r" + repeated("z", 60) + ":18446744073709551615-18446744073709551615"
        #expect(longRedis.utf8.count > 96)
        #expect(Offset(longRedis) == nil)
    }

    // MARK: - isAfter

    @Test(
        "isAfter orders offsets of one epoch by major, then minor",
        arguments: [
            ("e1:5", "e1:4", true),
            ("e1:4", "e1:5", false),
            ("e1:5", "e1:5", false),
            ("e1:10", "e1:9", true),  // numeric, not textual, order
            ("e1:9", "e1:10", false),
            ("r1:5-1", "r1:5-0", true),
            ("r1:5-0", "r1:5-1", false),
            ("r1:6-0", "r1:5-9", true),
            ("r1:5-9", "r1:6-0", false),
            ("r1:1700000000000-0", "r1:999999999999-99", true),
            ("e1:1", "e1:0", true),
            ("e1:18446744073709551615", "e1:18446744073709551614", true),
        ])
    func isAfterWithinEpoch(_ lhs: String, _ rhs: String, _ expected: Bool) throws {
        let a = try #require(Offset(lhs))
        let b = try #require(Offset(rhs))
        #expect(a.isAfter(b) == expected)
    }

    @Test(
        "isAfter is nil across epochs",
        arguments: [("e1:9", "e2:1"), ("e2:1", "e1:9"), ("r1:5-0", "e1:5"), ("r1:5-0", "r2:5-0"), ("e1:0", "e10:0")])
    func isAfterAcrossEpochs(_ lhs: String, _ rhs: String) throws {
        let a = try #require(Offset(lhs))
        let b = try #require(Offset(rhs))
        #expect(a.isAfter(b) == nil)
        #expect(b.isAfter(a) == nil)
    }

    @Test("isAfter is antisymmetric within an epoch")
    func antisymmetric() {
        let offsets = [0, 1, 2, 10].flatMap { major in [0, 1, 7].map { Offset(epoch: "r1", major: UInt64(major), minor: UInt64($0)) } }
        for a in offsets {
            for b in offsets {
                let ab = a.isAfter(b)
                let ba = b.isAfter(a)
                #expect(ab != nil && ba != nil)
                if a == b {
                    #expect(ab == false && ba == false)
                } else {
                    #expect(ab != ba)
                }
            }
        }
    }

    // MARK: - Codable

    @Test("Offset encodes as its wire string and decodes back")
    func codable() throws {
        let offsets = [Offset(epoch: "e1", major: 17), Offset(epoch: "r1", major: 1_700_000_000_000, minor: 3)]
        let bytes = try encodeJSON(offsets)
        #expect(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String] == ["e1:17", "r1:1700000000000-3"])
        #expect(try decodeJSON([Offset].self, bytes) == offsets)
    }

    @Test("Decoding a malformed offset fails", arguments: [#"["bad"]"#, #"["E1:1"]"#, "[17]", "[null]", #"["e1:-1"]"#])
    func decodingMalformed(_ json: String) {
        #expect(throws: DecodingError.self) { try decodeJSON([Offset].self, json) }
    }
}
