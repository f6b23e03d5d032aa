import NIOCore

/// Server-to-client WebSocket frames as bytes (RFC 6455 §5.2): FIN set, never
/// masked, no extensions. The native transport writes these straight to the
/// socket, so an event's frame can be built once and shared by every
/// subscriber on a loop.
enum WebSocketWire {
    static let text: UInt8 = 0x1
    static let close: UInt8 = 0x8
    static let ping: UInt8 = 0x9
    static let pong: UInt8 = 0xA

    /// Bytes of the header of an unmasked frame of `length` payload bytes.
    static func headerSize(_ length: Int) -> Int {
        length < 126 ? 2 : length <= 0xFFFF ? 4 : 10
    }

    /// One frame: header and a copy of `payload`; `compressed` sets RSV1
    /// (permessage-deflate, RFC 7692 §6).
    static func frame(opcode: UInt8, payload: ByteBuffer, compressed: Bool = false, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = payload.readableBytes
        var buffer = allocator.buffer(capacity: headerSize(length) + length)
        buffer.writeInteger(0x80 | (compressed ? 0x40 : 0) | opcode)
        if length < 126 {
            buffer.writeInteger(UInt8(length))
        } else if length <= 0xFFFF {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
        var payload = payload
        buffer.writeBuffer(&payload)
        return buffer
    }

    /// A close frame with `code` and a reason cut to fit a control frame (125 bytes).
    static func closeFrame(code: UInt16, reason: String = "", allocator: ByteBufferAllocator) -> ByteBuffer {
        var payload = allocator.buffer(capacity: 2 + reason.utf8.count)
        payload.writeInteger(code)
        var cut = Substring(reason)
        while cut.utf8.count > 123 { cut = cut.dropLast() }
        payload.writeString(String(cut))
        return frame(opcode: close, payload: payload, allocator: allocator)
    }
}

/// The framed bytes of the messages framed last on one event loop: a fan-out
/// hands the same buffer to every session of the loop, so it is framed once
/// per loop instead of once per subscriber. It keeps the last `depth`
/// messages (and their compressed frames), because a loop that drains a
/// batch of events writes each session several frames in turn (see
/// `DrainBatcher`). Loop-bound, never shared.
struct FrameCache {
    private struct Entry {
        /// Held so that its storage stays alive and shared: a buffer with the
        /// same readable bytes address and length has the same bytes.
        var source: ByteBuffer
        var framed: ByteBuffer
        /// Compressed frames of `source`, by window size.
        var compressed: [Int32: ByteBuffer] = [:]
    }

    static let depth = 8
    private var entries: [Entry] = []
    private var oldest = 0
    private var deflaters: [Int32: MessageDeflater] = [:]
    /// zlib level of compressed frames.
    var compressionLevel: Int32 = 6

    /// The text frame of `payload`, from the cache when `payload` is one of the buffers framed last.
    mutating func textFrame(_ payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        entries[entry(for: payload, allocator: allocator)].framed
    }

    /// The permessage-deflate text frame of `payload` for a server window of
    /// `windowBits` (compressed once per loop and window); the plain frame if
    /// compression fails.
    mutating func compressedTextFrame(_ payload: ByteBuffer, windowBits: Int32, allocator: ByteBufferAllocator) -> ByteBuffer {
        let index = entry(for: payload, allocator: allocator)
        if let frame = entries[index].compressed[windowBits] { return frame }
        do {
            let deflater = try deflaters[windowBits] ?? MessageDeflater(windowBits: windowBits, level: compressionLevel)
            deflaters[windowBits] = deflater
            let body = try deflater.compress(payload, allocator: allocator)
            let frame = WebSocketWire.frame(opcode: WebSocketWire.text, payload: body, compressed: true, allocator: allocator)
            entries[index].compressed[windowBits] = frame
            return frame
        } catch {
            return entries[index].framed
        }
    }

    /// The index of `payload`'s entry, framing it (in place of the oldest) when it is not cached.
    private mutating func entry(for payload: ByteBuffer, allocator: ByteBufferAllocator) -> Int {
        if let index = entries.firstIndex(where: { Self.sameBytes($0.source, payload) }) { return index }
        let entry = Entry(source: payload, framed: WebSocketWire.frame(opcode: WebSocketWire.text, payload: payload, allocator: allocator))
        if entries.count < Self.depth {
            entries.append(entry)
            return entries.count - 1
        }
        let index = oldest
        entries[index] = entry
        oldest = (oldest + 1) % Self.depth
        return index
    }

    private static func sameBytes(_ a: ByteBuffer, _ b: ByteBuffer) -> Bool {
        guard a.readableBytes == b.readableBytes else { return false }
        let first = a.withUnsafeReadableBytes { $0.baseAddress }
        let second = b.withUnsafeReadableBytes { $0.baseAddress }
        return first == second
    }
}

/// Sits next to the pipeline's head: the session handler writes framed bytes
/// through this handler's context, so they skip NIO's frame encoder (which the
/// upgrader installs and which cannot be removed). Loop-bound.
final class RawFrameWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func write(_ bytes: ByteBuffer) {
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    /// Writes and flushes; the future completes when the bytes are written.
    func writeAndFlush(_ bytes: ByteBuffer) -> EventLoopFuture<Void>? {
        context?.writeAndFlush(wrapOutboundOut(bytes))
    }
}
