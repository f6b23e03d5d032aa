import NIOCore
import NIOWebSocket

/// Turns a connection's data frames into whole client messages: reassembles
/// fragments (RFC 6455 §5.4), inflates permessage-deflate messages (RFC 7692),
/// and bounds both by `limit` bytes. Loop-bound, one per connection.
struct MessageAssembler {
    let limit: Int
    let deflate: PerMessageDeflate?
    private var fragments: ByteBuffer?
    private var binary = false
    private var compressed = false
    private var inflater: MessageInflater?

    init(limit: Int, deflate: PerMessageDeflate?) {
        self.limit = limit
        self.deflate = deflate
    }

    enum Outcome {
        /// The frame was part of a message still being assembled.
        case partial
        case message(ByteBuffer, binary: Bool)
        /// Fail the connection with this close code.
        case failure(code: UInt16, reason: String)
    }

    /// A text, binary or continuation frame.
    mutating func receive(_ frame: WebSocketFrame, allocator: ByteBufferAllocator) -> Outcome {
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else { return .failure(code: 1002, reason: "new message inside a fragmented one") }
            // RSV1 marks a compressed message, on its first frame only, and only once negotiated.
            guard !frame.rsv1 || deflate != nil else { return .failure(code: 1002, reason: "RSV1 without permessage-deflate") }
            binary = frame.opcode == .binary
            compressed = frame.rsv1
            if frame.fin { return finish(frame.unmaskedData, allocator: allocator) }
            fragments = frame.unmaskedData
            return .partial
        case .continuation:
            guard var buffer = fragments else { return .failure(code: 1002, reason: "continuation without a message") }
            guard !frame.rsv1 else { return .failure(code: 1002, reason: "RSV1 on a continuation frame") }
            var data = frame.unmaskedData
            guard buffer.readableBytes + data.readableBytes <= limit else {
                fragments = nil
                return .failure(code: 1009, reason: "message too large")
            }
            buffer.writeBuffer(&data)
            if frame.fin {
                fragments = nil
                return finish(buffer, allocator: allocator)
            }
            fragments = buffer
            return .partial
        default:
            return .failure(code: 1002, reason: "not a data frame")
        }
    }

    private mutating func finish(_ buffer: ByteBuffer, allocator: ByteBufferAllocator) -> Outcome {
        guard compressed, let deflate else { return .message(buffer, binary: binary) }
        do {
            let inflater = try self.inflater ?? MessageInflater(agreement: deflate)
            self.inflater = inflater
            return .message(try inflater.inflate(buffer, limit: limit, allocator: allocator), binary: binary)
        } catch is MessageInflater.TooLarge {
            return .failure(code: 1009, reason: "message too large")
        } catch {
            return .failure(code: 1007, reason: "message cannot be inflated")
        }
    }
}
