import Foundation
import NIOCore
import NIOPosix

/// A minimal WebSocket client over a plain NIO channel, for tests. Unlike a
/// client built on an HTTP upgrade pipeline, it keeps every byte that arrives
/// together with the `101` response (a server may send its first frames in the
/// same segment), and it never answers on its own except pongs to pings.
struct RawWebSocket {
    enum Frame: Sendable {
        case text(Data)
        case binary(Data)
        case close(code: Int?)
    }

    struct HandshakeError: Error, CustomStringConvertible {
        let description: String
    }

    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func connect(host: String, port: Int, path: String, headers: [(String, String)]) async throws -> (RawWebSocket, ByteBuffer) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try await channel.channel.writeAndFlush(ByteBuffer(string: request))
        return (RawWebSocket(channel: channel), ByteBuffer())
    }

    /// Encodes a masked client frame.
    static func encode(opcode: UInt8, payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(0x80 | opcode)
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        if payload.count < 126 {
            buffer.writeInteger(UInt8(0x80 | payload.count))
        } else if payload.count < 65536 {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(payload.count))
        } else {
            buffer.writeInteger(UInt8(0x80 | 127))
            buffer.writeInteger(UInt64(payload.count))
        }
        buffer.writeBytes(mask)
        buffer.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
        return buffer
    }

    /// Parses frames out of `buffer` (server frames are not masked). Returns nil when more bytes are needed.
    static func parse(_ buffer: inout ByteBuffer) -> (fin: Bool, opcode: UInt8, payload: [UInt8])? {
        let start = buffer.readerIndex
        guard let first = buffer.readInteger(as: UInt8.self), let second = buffer.readInteger(as: UInt8.self) else {
            buffer.moveReaderIndex(to: start)
            return nil
        }
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let value = buffer.readInteger(as: UInt16.self) else { buffer.moveReaderIndex(to: start); return nil }
            length = Int(value)
        } else if length == 127 {
            guard let value = buffer.readInteger(as: UInt64.self) else { buffer.moveReaderIndex(to: start); return nil }
            length = Int(value)
        }
        guard let payload = buffer.readBytes(length: length) else {
            buffer.moveReaderIndex(to: start)
            return nil
        }
        return (first & 0x80 != 0, first & 0x0F, payload)
    }

    /// Splits the handshake response from what follows; nil when incomplete.
    static func splitHandshake(_ buffer: inout ByteBuffer) throws -> String? {
        let view = buffer.readableBytesView
        guard let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self)
        buffer.moveReaderIndex(forwardBy: end.upperBound - view.startIndex)
        guard head.hasPrefix("HTTP/1.1 101") else {
            throw HandshakeError(description: "upgrade refused: \(head.split(separator: "\r\n").first ?? "")")
        }
        return head
    }
}
