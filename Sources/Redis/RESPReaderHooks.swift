import CHiredis

/// hiredis's reply-object callbacks, wrapped to enforce the size limits
/// before hiredis allocates anything, and to tell a nil array from a nil
/// bulk string (hiredis creates the same NIL object for both).
///
/// hiredis passes each callback the read task, whose `privdata` is the
/// reader's `privdata`: a pointer to these hooks. The callbacks are plain C
/// function pointers and capture nothing.
struct RESPReaderHooks {
    /// Set in the `integer` field (unused for NIL) of a nil that was an array.
    static let nilArrayMarker: Int64 = 1

    /// The table handed to hiredis.
    var functions: redisReplyObjectFunctions
    /// hiredis's own callbacks (`defaultFunctions`), which build `redisReply`s.
    let original: redisReplyObjectFunctions
    let maxBulkLength: Int
    let maxArrayElements: Int
    /// Why a callback refused to build an object (hiredis then reports OOM).
    var refusal: String?

    static func allocate(limits: RedisReplyLimits) -> UnsafeMutablePointer<RESPReaderHooks> {
        // The default callbacks are static in hiredis.c: read them off a reader.
        guard let probe = redisReaderCreate() else { fatalError("hiredis could not allocate a reader") }
        let original = probe.pointee.fn.pointee
        redisReaderFree(probe)
        let functions = redisReplyObjectFunctions(
            createString: { task, string, length in
                guard let task, let hooks = RESPReaderHooks.from(task) else { return nil }
                if task.pointee.type == REDIS_REPLY_STRING, length > hooks.pointee.maxBulkLength {
                    hooks.pointee.refusal = "a bulk string of \(length) bytes exceeds the limit of \(hooks.pointee.maxBulkLength)"
                    return nil
                }
                return hooks.pointee.original.createString(task, string, length)
            },
            createArray: { task, elements in
                guard let task, let hooks = RESPReaderHooks.from(task) else { return nil }
                if Int(elements) > hooks.pointee.maxArrayElements {
                    hooks.pointee.refusal = "an array of \(elements) elements exceeds the limit of \(hooks.pointee.maxArrayElements)"
                    return nil
                }
                return hooks.pointee.original.createArray(task, elements)
            },
            createInteger: { task, value in
                guard let task, let hooks = RESPReaderHooks.from(task) else { return nil }
                return hooks.pointee.original.createInteger(task, value)
            },
            createNil: { task in
                guard let task, let hooks = RESPReaderHooks.from(task) else { return nil }
                let object = hooks.pointee.original.createNil(task)
                if task.pointee.type == REDIS_REPLY_ARRAY, let object {
                    object.assumingMemoryBound(to: redisReply.self).pointee.integer = RESPReaderHooks.nilArrayMarker
                }
                return object
            },
            freeObject: { object in freeReplyObject(object) }
        )
        let hooks = UnsafeMutablePointer<RESPReaderHooks>.allocate(capacity: 1)
        hooks.initialize(
            to: RESPReaderHooks(
                functions: functions, original: original, maxBulkLength: limits.maxBulkLength,
                maxArrayElements: limits.maxArrayElements, refusal: nil))
        return hooks
    }

    static func deallocate(_ hooks: UnsafeMutablePointer<RESPReaderHooks>) {
        hooks.deinitialize(count: 1)
        hooks.deallocate()
    }

    private static func from(_ task: UnsafePointer<redisReadTask>) -> UnsafeMutablePointer<RESPReaderHooks>? {
        task.pointee.privdata?.assumingMemoryBound(to: RESPReaderHooks.self)
    }
}
