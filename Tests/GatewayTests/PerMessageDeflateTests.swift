import CompressNIO
import NIOCore
import NIOWebSocket
import Testing

@testable import Gateway

@Suite("permessage-deflate: negotiation and message assembly")
struct PerMessageDeflateTests {
    @Test(arguments: [
        ("permessage-deflate", "permessage-deflate; server_no_context_takeover"),
        ("permessage-deflate; client_max_window_bits", "permessage-deflate; server_no_context_takeover"),
        ("permessage-deflate; client_max_window_bits=10", "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"),
        ("permessage-deflate; client_no_context_takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ("permessage-deflate; server_max_window_bits=12", "permessage-deflate; server_no_context_takeover; server_max_window_bits=12"),
        ("permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover"),
        // An offer the server cannot honour is skipped for the next one.
        ("permessage-deflate; server_max_window_bits=8, permessage-deflate", "permessage-deflate; server_no_context_takeover"),
        ("permessage-deflate; unknown_param, permessage-deflate; client_max_window_bits=9",
         "permessage-deflate; server_no_context_takeover; client_max_window_bits=9"),
        ("x-webkit-deflate-frame, permessage-deflate", "permessage-deflate; server_no_context_takeover"),
    ])
    func acceptedOffers(offer: String, response: String) throws {
        let agreement = try #require(PerMessageDeflate.negotiate([offer]))
        #expect(agreement.responseHeader == response)
    }

    @Test(arguments: [
        "permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=16", "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1", "x-webkit-deflate-frame", "",
    ])
    func refusedOffers(offer: String) {
        #expect(PerMessageDeflate.negotiate([offer]) == nil)
    }

    @Test func aBareClientWindowIsCappedByTheServersLimit() throws {
        let agreement = try #require(PerMessageDeflate.negotiate(["permessage-deflate; client_max_window_bits"], clientWindowLimit: 11))
        #expect(agreement.clientWindowBits == 11)
        #expect(agreement.responseHeader.contains("client_max_window_bits=11"))
    }

    // MARK: MessageAssembler

    static func frame(_ opcode: WebSocketOpcode, _ bytes: [UInt8], fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
        WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, data: ByteBuffer(bytes: bytes))
    }

    func expectMessage(_ outcome: MessageAssembler.Outcome, _ text: String) {
        guard case .message(let buffer, let binary) = outcome else {
            Issue.record("expected a message, got \(outcome)")
            return
        }
        #expect(String(buffer: buffer) == text)
        #expect(!binary)
    }

    func expectFailure(_ outcome: MessageAssembler.Outcome, _ code: UInt16) {
        guard case .failure(let got, _) = outcome else {
            Issue.record("expected close \(code), got \(outcome)")
            return
        }
        #expect(got == code)
    }

    @Test func compressedMessagesAreInflatedWholeOrFragmented() throws {
        var assembler = MessageAssembler(limit: 1024, deflate: PerMessageDeflate())
        let text = String(repeating: #"{"type":"ping","id":"x"}"#, count: 10)
        let bytes = try PerMessageDeflateTestsSupport.deflate(text)
        expectMessage(assembler.receive(Self.frame(.text, bytes, rsv1: true), allocator: .init()), text)
        // The same, in three fragments: RSV1 on the first only.
        let third = bytes.count / 3
        guard case .partial = assembler.receive(Self.frame(.text, Array(bytes[..<third]), fin: false, rsv1: true), allocator: .init())
        else {
            Issue.record("first fragment")
            return
        }
        guard case .partial = assembler.receive(Self.frame(.continuation, Array(bytes[third..<(2 * third)]), fin: false), allocator: .init())
        else {
            Issue.record("second fragment")
            return
        }
        expectMessage(assembler.receive(Self.frame(.continuation, Array(bytes[(2 * third)...])), allocator: .init()), text)
        // Uncompressed messages still pass on a compressed connection.
        expectMessage(assembler.receive(Self.frame(.text, Array("plain".utf8)), allocator: .init()), "plain")
    }

    @Test func rsv1WithoutTheExtensionOrOnAContinuationIs1002() {
        var plain = MessageAssembler(limit: 1024, deflate: nil)
        expectFailure(plain.receive(Self.frame(.text, [1, 2], rsv1: true), allocator: .init()), 1002)
        var deflating = MessageAssembler(limit: 1024, deflate: PerMessageDeflate())
        _ = deflating.receive(Self.frame(.text, [1], fin: false), allocator: .init())
        expectFailure(deflating.receive(Self.frame(.continuation, [2], rsv1: true), allocator: .init()), 1002)
    }

    @Test func aMessageInflatingPastTheLimitIs1009() throws {
        var assembler = MessageAssembler(limit: 1000, deflate: PerMessageDeflate())
        let exactly = String(repeating: "a", count: 1000)
        expectMessage(assembler.receive(Self.frame(.text, try PerMessageDeflateTestsSupport.deflate(exactly), rsv1: true), allocator: .init()), exactly)
        // A compression bomb: 1 MiB of zeros in a few hundred bytes.
        let bomb = try PerMessageDeflateTestsSupport.deflate(String(repeating: "0", count: 1 << 20))
        #expect(bomb.count < 2048)
        var fresh = MessageAssembler(limit: 1000, deflate: PerMessageDeflate())
        expectFailure(fresh.receive(Self.frame(.text, bomb, rsv1: true), allocator: .init()), 1009)
    }

    @Test func dataThatIsNotDeflateIs1007() {
        var assembler = MessageAssembler(limit: 1000, deflate: PerMessageDeflate())
        expectFailure(assembler.receive(Self.frame(.text, [0xFF, 0xFF, 0xFF, 0xFF, 0x12], rsv1: true), allocator: .init()), 1007)
    }

    @Test func serverFramesAreCompressedOncePerLoopAndInflateBack() throws {
        var cache = FrameCache()
        let payload = ByteBuffer(string: String(repeating: #"{"type":"event","data":{"n":1}}"#, count: 20))
        let first = cache.compressedTextFrame(payload, windowBits: 15, allocator: .init())
        let again = cache.compressedTextFrame(payload, windowBits: 15, allocator: .init())
        #expect(first.withUnsafeReadableBytes { $0.baseAddress } == again.withUnsafeReadableBytes { $0.baseAddress })
        var frame = first
        let header = frame.readInteger(as: UInt8.self)
        #expect(header == 0xC1)  // FIN, RSV1, text
        let length = frame.readInteger(as: UInt8.self)
        #expect(length.map(Int.init) == frame.readableBytes)
        #expect(frame.readableBytes < payload.readableBytes / 4)
        var assembler = MessageAssembler(limit: 1 << 16, deflate: PerMessageDeflate())
        expectMessage(
            assembler.receive(Self.frame(.text, Array(frame.readableBytesView), rsv1: true), allocator: .init()), String(buffer: payload))
    }
}
