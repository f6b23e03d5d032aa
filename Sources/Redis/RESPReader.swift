import CHiredis
import NIOCore

/// The RESP2 parser of one connection: hiredis's `redisReader`, with replies
/// deep-copied into ``RESPValue`` and the ``RedisReplyLimits`` enforced.
///
/// Not thread-safe: it lives in one channel handler on its event loop.
/// Once it has thrown, it is poisoned (hiredis keeps its error state) and
/// every later call throws the same error: the connection must be closed.
final class RESPReader {
    private let reader: UnsafeMutablePointer<redisReader>
    private let hooks: UnsafeMutablePointer<RESPReaderHooks>
    private let limits: RedisReplyLimits
    private let allocator: ByteBufferAllocator
    /// Bytes fed since the reader was created.
    private var fedBytes = 0
    /// Offset (in fed bytes) where the reply being parsed starts.
    private var replyStart = 0
    private var failure: RedisError?

    init(limits: RedisReplyLimits = RedisReplyLimits(), allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.limits = limits
        self.allocator = allocator
        hooks = RESPReaderHooks.allocate(limits: limits)
        // redisReaderCreateWithFunctions returns nil only when malloc fails.
        guard let reader = redisReaderCreateWithFunctions(hooks.pointer(to: \.functions)!) else {
            fatalError("hiredis could not allocate a reader")
        }
        self.reader = reader
        reader.pointee.maxbuf = limits.maxUnusedBuffer
        // Every read task hiredis creates copies this pointer (task->privdata).
        reader.pointee.privdata = UnsafeMutableRawPointer(hooks)
    }

    deinit {
        redisReaderFree(reader)
        RESPReaderHooks.deallocate(hooks)
    }

    /// Appends bytes; hiredis copies them, so `buffer` may be released.
    func feed(_ buffer: ByteBuffer) throws(RedisError) {
        if let failure { throw failure }
        let count = buffer.readableBytes
        guard count > 0 else { return }
        let status = buffer.withUnsafeReadableBytes { raw in
            redisReaderFeed(reader, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
        }
        guard status == REDIS_OK else { throw fail(currentError()) }
        fedBytes += count
    }

    /// The next complete reply, or nil when more bytes are needed.
    func next() throws(RedisError) -> RESPValue? {
        if let failure { throw failure }
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
            throw fail(currentError())
        }
        let consumed = fedBytes - unreadBytes
        guard let raw else {
            try checkIncompleteReply(size: fedBytes - replyStart)
            return nil
        }
        // Only the root may be freed; freeReplyObject frees the whole tree.
        defer { freeReplyObject(raw) }
        let size = consumed - replyStart
        replyStart = consumed
        if size > limits.maxReplyBytes {
            throw fail(RedisError(.replyTooLarge, "a reply of \(size) bytes exceeds the limit of \(limits.maxReplyBytes)"))
        }
        return convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Bytes fed but not yet consumed by hiredis.
    private var unreadBytes: Int { reader.pointee.len - reader.pointee.pos }

    private func checkIncompleteReply(size: Int) throws(RedisError) {
        if size > limits.maxReplyBytes {
            throw fail(RedisError(.replyTooLarge, "a reply of more than \(size) bytes exceeds the limit of \(limits.maxReplyBytes)"))
        }
        if let length = declaredBulkLength(), length > limits.maxBulkLength {
            throw fail(RedisError(.replyTooLarge, "a bulk string of \(length) bytes exceeds the limit of \(limits.maxBulkLength)"))
        }
    }

    /// The length a bulk string being waited for declares, once its length
    /// line has arrived. hiredis 0.14 leaves `pos` at the length line of a
    /// bulk string until the whole string is buffered, with the current read
    /// task typed as a string: that is what is read here.
    private func declaredBulkLength() -> Int? {
        let index = Int(reader.pointee.ridx)
        guard index >= 0, index < 9, let buffer = reader.pointee.buf else { return nil }
        let type = withUnsafeBytes(of: &reader.pointee.rstack) { raw in
            raw.bindMemory(to: redisReadTask.self)[index].type
        }
        guard type == REDIS_REPLY_STRING else { return nil }
        let unread = UnsafeRawBufferPointer(start: buffer + reader.pointee.pos, count: unreadBytes)
        var length = 0
        for byte in unread {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                // Saturate: a length line longer than 18 digits is far over any limit.
                length = length > Int.max / 20 ? Int.max / 2 : length * 10 + Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "\r"):
                return length
            default:
                return nil  // "-1" (nil) or garbage: hiredis decides.
            }
        }
        return length  // Digits so far: the length is at least this.
    }

    private func fail(_ error: RedisError) -> RedisError {
        failure = error
        return error
    }

    private func currentError() -> RedisError {
        if let refusal = hooks.pointee.refusal {
            return RedisError(.replyTooLarge, refusal)
        }
        let message = withUnsafeBytes(of: &reader.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return RedisError(.protocolError, message.isEmpty ? "hiredis error \(reader.pointee.err)" : message)
    }

    /// Copies a reply tree into Swift values. Depth is bounded by hiredis (7).
    private func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulkString(copyBytes(value.str, value.len))
        case REDIS_REPLY_STATUS:
            return .simpleString(String(buffer: copyBytes(value.str, value.len)))
        case REDIS_REPLY_ERROR:
            return .error(String(buffer: copyBytes(value.str, value.len)))
        case REDIS_REPLY_INTEGER:
            return .integer(value.integer)
        case REDIS_REPLY_NIL:
            return value.integer == RESPReaderHooks.nilArrayMarker ? .array(nil) : .bulkString(nil)
        case REDIS_REPLY_ARRAY:
            var elements: [RESPValue] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                // hiredis fills every slot of a complete array.
                elements.append(convert(value.element[index]!))
            }
            return .array(elements)
        default:
            return .error("unknown hiredis reply type \(value.type)")
        }
    }

    private func copyBytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> ByteBuffer {
        guard let pointer, count > 0 else { return allocator.buffer(capacity: 0) }
        return allocator.buffer(bytes: UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

extension RESPReader {
    /// hiredis's `maxbuf` as set on the reader.
    var maxUnusedBuffer: Int { reader.pointee.maxbuf }
}
