import Testing

@testable import Protocol

@Suite("CloseCode")
struct CloseCodeTests {
    @Test(
        "Close codes have the numbers of PROTOCOL.md",
        arguments: [
            (CloseCode.normal, UInt16(1000)),
            (.messageTooBig, 1009),
            (.serverError, 1011),
            (.serviceRestart, 1012),
            (.unauthorized, 4001),
            (.identityChanged, 4003),
            (.slowConsumer, 4008),
            (.policyViolation, 4029),
        ])
    func numbers(_ code: CloseCode, _ number: UInt16) {
        #expect(code.rawValue == number)
        #expect(CloseCode(rawValue: number) == code)
        #expect(code.description == String(number))
    }

    @Test("All close codes are distinct")
    func distinct() {
        let all: [CloseCode] = [.normal, .messageTooBig, .serverError, .serviceRestart, .unauthorized, .identityChanged, .slowConsumer, .policyViolation]
        #expect(Set(all).count == all.count)
    }

    @Test(
        "Reconnect right away after a server error, a restart or a slow-consumer close; not after the others",
        arguments: [
            (CloseCode.serverError, true),
            (.serviceRestart, true),
            (.slowConsumer, true),
            (.normal, false),
            (.messageTooBig, false),
            (.unauthorized, false),
            (.identityChanged, false),
            (.policyViolation, false),
            (CloseCode(rawValue: 1001), false),
            (CloseCode(rawValue: 4999), false),
        ])
    func reconnect(_ code: CloseCode, _ expected: Bool) {
        #expect(code.reconnect == expected)
    }
}
