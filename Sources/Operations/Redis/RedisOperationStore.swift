import Foundation
import Redis

/// The distributed `OperationStore`: operations, logs and idempotency keys in
/// one Redis shared by every hub node (layout: `RedisOperationKeys`).
///
/// - **Atomicity.** Every write the contract calls atomic is one Lua script
///   (`RedisOperationScripts`): the version guard, the new value, the index
///   entries, the log lines and the log trim happen in one step that no other
///   client can interleave with, on any node. Reads of more than one key
///   (`list`, `logs`, `scan`) are scripts too, so they never see half a write.
/// - **Indexes.** Sorted sets per tenant and filter value, scored by
///   created_at; `list` intersects them (see `RedisOperationScripts.list`).
///   Heartbeat deadlines and completion times are global sorted sets, so
///   `expiredHeartbeats` and `purgeFinished` are range queries.
/// - **Change messages.** Every committed insert, replace, delete and purge
///   publishes `{tenant,id,version}` on `changeChannel` from inside its
///   script; `RedisOperationChangeListener` turns them into wake-ups of the
///   long-polls of every node.
/// - **Durability** is Redis's: a write that returned is in Redis's memory
///   and, with AOF (`appendonly yes`, `appendfsync everysec`), on disk within
///   about a second; a crash of Redis itself may lose that last second. A
///   crash of a hub node loses nothing. A script is never half applied.
/// - **Errors.** An unreachable Redis, a broken connection, a timeout or any
///   unexpected reply is `unavailable`; a failed version guard `conflict`; a
///   missing operation `notFound`.
///
/// The client is the caller's (run it in the same `ServiceGroup`, before the
/// services that use the store); the store holds no other state.
public final class RedisOperationStore: OperationStore {
    public let client: RedisClient
    public let keys: RedisOperationKeys
    /// How long `isReady()` waits for `PONG`.
    public let readinessTimeout: Duration
    /// How long a write lock lives unless released, and how long a writer
    /// waits for another node's (``withWriteLock(_:_:)``).
    public let writeLockTTL: Duration
    public let writeLockWait: Duration

    /// Every hub node on this Redis (and key prefix) writes it.
    public var isShared: Bool { true }

    /// - Parameters:
    ///   - keyPrefix: the namespace of every key (`{<prefix>}:…`); stores
    ///     with the same prefix on one Redis share their data. Not empty, no `{` or `}`.
    ///   - readinessTimeout: how long `isReady()` waits for Redis to answer.
    public init(
        client: RedisClient, keyPrefix: String = "hub:ops", readinessTimeout: Duration = .seconds(1),
        writeLockTTL: Duration = .seconds(10), writeLockWait: Duration = .seconds(10)
    ) throws(OperationError) {
        guard RedisOperationKeys.isValidPrefix(keyPrefix) else {
            throw OperationError.validation("key_prefix", "invalid", "the Redis key prefix must be non-empty and without braces")
        }
        self.client = client
        self.keys = RedisOperationKeys(prefix: keyPrefix)
        self.readinessTimeout = readinessTimeout
        self.writeLockTTL = writeLockTTL
        self.writeLockWait = writeLockWait
    }

    /// The channel every committed change is published on (`RedisOperationChange`).
    public var changeChannel: String { keys.changes }

    /// Loads every script into Redis's cache (`SCRIPT LOAD`), so the first
    /// calls need no `EVAL` fallback. Optional: scripts are sent again after a
    /// `NOSCRIPT` anyway.
    public func loadScripts() async throws {
        for script in RedisOperationScripts.all {
            do {
                try await client.load(script)
            } catch {
                throw Self.unavailable(error)
            }
        }
    }

    /// A `PING` answered within `readinessTimeout`; false at once when no connection is up.
    public func isReady() async -> Bool {
        guard client.isConnected else { return false }
        return await client.isReachable(timeout: readinessTimeout)
    }

    // MARK: Operations

    public func insert(_ operation: OperationRecord, completing key: IdempotencyKey?) async throws {
        guard !operation.tenant.contains("\u{0}") else {
            throw OperationError.validation("tenant", "invalid", "a tenant name cannot contain NUL")
        }
        var scriptKeys = [keys.operation(operation.ref)]
        if let key { scriptKeys.append(keys.idempotency(key)) }
        let reply = try await run(
            RedisOperationScripts.insert, keys: scriptKeys,
            [.string(operation.tenant), .string(operation.id)] + RedisOperationCodec.fieldArguments(operation))
        switch try Self.status(reply) {
        case 0: return
        case 3: throw OperationError(.conflict, "operation \(operation.id) already exists")
        default: throw Self.unexpected(reply)
        }
    }

    public func operation(_ ref: OperationRef) async throws -> OperationRecord? {
        let reply = try await send(["HMGET", .string(keys.operation(ref)), "body", "hb"])
        guard let row = reply.array, row.count == 2 else { throw Self.unexpected(reply) }
        return try RedisOperationCodec.operation(body: row[0], heartbeat: row[1])
    }

    public func replace(_ operation: OperationRecord, expectedVersion: Int, appending lines: [LogLine], logCap: Int) async throws {
        let ref = operation.ref
        var arguments: [RedisArgument] = [.string(ref.tenant), .string(ref.id), .integer(expectedVersion)]
        arguments += try RedisOperationCodec.fieldArguments(operation)
        arguments.append(.integer(operation.logSequence - max(logCap, 0)))
        arguments.reserveCapacity(arguments.count + 2 * lines.count)
        for line in lines {
            arguments.append(.integer(line.sequence))
            arguments.append(RedisOperationCodec.member(line))
        }
        let reply = try await run(RedisOperationScripts.replace, keys: [keys.operation(ref), keys.log(ref)], arguments)
        try Self.checkGuard(reply, ref)
    }

    public func touch(_ ref: OperationRef, heartbeatAt: Date, expectedVersion: Int) async throws {
        let reply = try await run(
            RedisOperationScripts.touch, keys: [keys.operation(ref)],
            [.string(ref.tenant), .string(ref.id), .integer(expectedVersion), .integer(heartbeatAt.millisecondsSince1970)])
        try Self.checkGuard(reply, ref)
    }

    public func delete(_ ref: OperationRef, expectedVersion: Int) async throws {
        let reply = try await run(
            RedisOperationScripts.delete, keys: [keys.operation(ref)],
            [.string(ref.tenant), .string(ref.id), .integer(expectedVersion)])
        try Self.checkGuard(reply, ref)
    }

    public func scan(after cursor: OperationRef?, limit: Int) async throws -> [OperationRecord] {
        guard limit > 0 else { return [] }
        let start = cursor.map { "(" + RedisOperationKeys.member($0) } ?? "-"
        let reply = try await run(RedisOperationScripts.scan, keys: [keys.refs], [.string(start), .integer(limit)])
        return try Self.operations(reply, from: 0)
    }

    // MARK: Access helpers

    /// Runs a script (`ARGV[1]` is always the key tag).
    func run(_ script: RedisScript, keys scriptKeys: [String], _ arguments: [RedisArgument]) async throws(OperationError) -> RESPValue {
        do {
            return try await client.evaluate(
                script, keys: scriptKeys.map(RedisArgument.string), arguments: [.string(keys.tag)] + arguments)
        } catch {
            throw Self.unavailable(error)
        }
    }

    func send(_ command: RedisCommand) async throws(OperationError) -> RESPValue {
        do {
            return try await client.send(command)
        } catch {
            throw Self.unavailable(error)
        }
    }

    static func unavailable(_ error: RedisError) -> OperationError {
        .unavailable("redis \(error.code): \(error.message)")
    }

    static func unexpected(_ reply: RESPValue) -> OperationError {
        .unavailable("unexpected reply from Redis: \(reply)")
    }

    /// The status (first element) of a write script's answer.
    static func status(_ reply: RESPValue) throws(OperationError) -> Int64 {
        guard let status = reply.array?.first?.integer else { throw unexpected(reply) }
        return status
    }

    /// Maps the answer of a version-guarded script: done, `notFound` or `conflict`.
    static func checkGuard(_ reply: RESPValue, _ ref: OperationRef) throws(OperationError) {
        switch try status(reply) {
        case 0: return
        case 1: throw OperationError.notFound(ref.id)
        case 2:
            let stored = reply.array.flatMap { $0.count > 1 ? $0[1].integer : nil }.map(String.init) ?? "?"
            throw OperationError(.conflict, "operation \(ref.id) changed (version \(stored))")
        default: throw unexpected(reply)
        }
    }

    /// Operations from `{…, body, hb, body, hb, …}` starting at `index` (rows without a body are skipped).
    static func operations(_ reply: RESPValue, from index: Int) throws(OperationError) -> [OperationRecord] {
        guard let values = reply.array, values.count >= index, (values.count - index) % 2 == 0 else { throw unexpected(reply) }
        var operations: [OperationRecord] = []
        operations.reserveCapacity((values.count - index) / 2)
        var position = index
        while position < values.count {
            if let op = try RedisOperationCodec.operation(body: values[position], heartbeat: values[position + 1]) {
                operations.append(op)
            }
            position += 2
        }
        return operations
    }
}
