import CompressNIO
import Foundation
import Gateway
import HTTPTypes
import HubTesting
import HummingbirdWSClient
import HummingbirdWSCompression
import Logging
import NIOCore
import Protocol
import Synchronization
import Testing

@Suite("WebSocket permessage-deflate (live)")
struct WebSocketCompressionTests {
    /// Inflates a server message (raw deflate without the trailing 00 00 FF FF).
    static func inflate(_ data: Data) throws -> String {
        let decompressor = try ZlibDecompressor(algorithm: .deflate)
        var input = ByteBuffer(bytes: data)
        input.writeBytes([0, 0, 0xFF, 0xFF])
        var output = ByteBuffer()
        output.reserveCapacity(1 << 20)
        try decompressor.inflate(from: &input, to: &output)
        return String(buffer: output)
    }

    /// A masked, compressed (RSV1) text frame, as a client sends it.
    static func compressedClientFrame(_ text: String) throws -> [UInt8] {
        let payload = try PerMessageDeflateTestsSupport.deflate(text)
        var frame: [UInt8] = [0xC1, 0x80 | UInt8(payload.count)]
        let mask: [UInt8] = [9, 8, 7, 6]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame
    }

    @Test func largeEventsAreCompressedSmallOnesAreNotAndCompressedClientMessagesAreRead() async throws {
        try await TestHub.run(configure: {
            $0.websocket.compression = true
            $0.websocket.compressionMinBytes = 256
        }) { hub in
            let probe = WSProbe(
                url: hub.wsURL + "?token=" + (try await hub.token()),
                headers: [.secWebSocketExtensions: "permessage-deflate; client_max_window_bits"])
            let head = try await probe.handshake().lowercased()
            #expect(head.contains("sec-websocket-extensions: permessage-deflate; server_no_context_takeover"))
            _ = try await probe.next(type: "welcome")
            // The subscribe arrives compressed (RSV1) and is read.
            probe.send(raw: try Self.compressedClientFrame(#"{"type":"subscribe","id":"z","topics":["application:zip:status"]}"#))
            let reply = try await probe.next(type: "subscribed")
            #expect(reply["id"] as? String == "z")

            let pad = String(repeating: "all work and no play ", count: 100)
            try await hub.publish("application:zip:status", data: #"{"pad":"\#(pad)"}"#)
            let big = try await probe.nextRaw()
            #expect(big.count < pad.utf8.count / 4, "a compressed frame")
            let inflated = try Self.inflate(big)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(inflated.utf8)) as? [String: Any])
            #expect((json["data"] as? [String: Any])?["pad"] as? String == pad)

            try await hub.publish("application:zip:status", data: #"{"n":1}"#)
            let small = try await probe.next()
            #expect(small["type"] as? String == "event")
        }
    }

    @Test func interoperatesWithAnotherImplementationsClient() async throws {
        try await TestHub.run(configure: { $0.websocket.compression = true; $0.websocket.compressionMinBytes = 64 }) { hub in
            let token = try await hub.token()
            let pad = String(repeating: "0123456789", count: 300)
            let received = Mutex<[String]>([])
            let (subscribed, subscribedContinuation) = AsyncStream.makeStream(of: Void.self)
            let port = hub.port
            let client = Task {
                try await WebSocketClient.connect(
                    url: "ws://127.0.0.1:\(port)/ws/v1?token=\(token)",
                    configuration: .init(maxFrameSize: 1 << 20, extensions: [.perMessageDeflate(maxDecompressedFrameSize: 1 << 20, minFrameSizeToCompress: 16)]),
                    logger: Logger(label: "ws-client") { _ in SwiftLogNoOpLogHandler() }
                ) { inbound, outbound, _ in
                    try await outbound.write(.text(#"{"type":"subscribe","id":"1","topics":["application:interop:status"]}"#))
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        if text.contains(#""type":"subscribed""#) { subscribedContinuation.yield() }
                        if text.contains(#""type":"event""#) {
                            received.withLock { $0.append(text) }
                            break
                        }
                    }
                }
            }
            try await withTimeout(10, "the subscription") {
                var iterator = subscribed.makeAsyncIterator()
                _ = await iterator.next()
            }
            try await hub.publish("application:interop:status", data: #"{"pad":"\#(pad)"}"#)
            _ = try await withTimeout(10, "the client to get the event") { try await client.value }
            let texts = received.withLock { $0 }
            #expect(texts.count == 1)
            #expect(texts.first?.contains(pad) == true)
        }
    }
}

/// Raw deflate of `text` flushed with Z_SYNC_FLUSH, without the trailing
/// 00 00 FF FF: as a permessage-deflate client writes it.
enum PerMessageDeflateTestsSupport {
    static func deflate(_ text: String) throws -> [UInt8] {
        let compressor = try ZlibCompressor(algorithm: .deflate)
        var input = ByteBuffer(string: text)
        var output = ByteBuffer()
        output.reserveCapacity(compressor.maxSize(from: input))
        try compressor.deflate(from: &input, to: &output, flush: .sync)
        return Array(output.readableBytesView.dropLast(4))
    }
}
