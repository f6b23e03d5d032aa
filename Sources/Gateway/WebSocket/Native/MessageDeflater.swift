import CompressNIO
import NIOCore

/// Compresses server messages for permessage-deflate with
/// `server_no_context_takeover`: each message is a complete raw-deflate
/// stream flushed with Z_SYNC_FLUSH, without the final `00 00 FF FF`
/// (RFC 7692 §7.2.1). One per event loop and window size; loop-bound.
final class MessageDeflater {
    private let compressor: ZlibCompressor

    init(windowBits: Int32, level: Int32) throws {
        compressor = try ZlibCompressor(
            algorithm: .deflate, configuration: ZlibConfiguration(windowSize: windowBits, compressionLevel: level, memoryLevel: 8))
    }

    func compress(_ payload: ByteBuffer, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var input = payload
        var output = allocator.buffer(capacity: compressor.maxSize(from: input))
        try compressor.deflate(from: &input, to: &output, flush: .sync)
        try compressor.reset()
        if output.readableBytes >= 4, output.getBytes(at: output.writerIndex - 4, length: 4) == [0, 0, 0xFF, 0xFF] {
            output.moveWriterIndex(to: output.writerIndex - 4)
        }
        return output
    }
}

/// Inflates the compressed messages of one client connection, within a
/// size limit. Created on the first compressed message (most clients never
/// send one). Loop-bound.
final class MessageInflater {
    private let decompressor: ZlibDecompressor
    private let resetsEachMessage: Bool

    struct TooLarge: Error {}

    init(agreement: PerMessageDeflate) throws {
        decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: agreement.clientWindowBits)
        resetsEachMessage = agreement.clientNoContextTakeover
    }

    /// The message's bytes; `TooLarge` beyond `limit`, any other error for corrupt data.
    func inflate(_ compressed: ByteBuffer, limit: Int, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var input = compressed
        input.writeBytes([0, 0, 0xFF, 0xFF])
        var output = allocator.buffer(capacity: min(limit + 1, max(256, compressed.readableBytes * 4)))
        while true {
            do {
                try decompressor.inflate(from: &input, to: &output)
                break
            } catch let error as CompressNIOError where error == .bufferOverflow {
                guard output.readableBytes <= limit else { throw TooLarge() }
                output.reserveCapacity(minimumWritableBytes: min(limit + 1, max(1024, output.readableBytes)))
            } catch let error as CompressNIOError where error == .inputBufferOverflow && input.readableBytes == 0 {
                break
            }
        }
        guard output.readableBytes <= limit else { throw TooLarge() }
        if resetsEachMessage { try decompressor.reset() }
        return output
    }
}
