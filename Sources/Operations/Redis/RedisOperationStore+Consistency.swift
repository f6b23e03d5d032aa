import Foundation
import NIOCore
import Redis

extension RedisOperationStore {
    /// Checks the store's invariants, as `SQLiteOperationStore.consistencyProblems`
    /// does for its file: every operation's hash agrees with its body and the
    /// model's rules, every index holds exactly the entries the operations
    /// imply (with created_at scores), the heartbeat and finished sets hold
    /// exactly the running-with-deadline and terminal operations, every log
    /// holds exactly the sequence numbers it should, and no key is left over
    /// (orphaned logs, temporary keys, unknown names). Returns the problems
    /// found (empty: consistent).
    ///
    /// Reads every key of the prefix (`SCAN`), one command at a time, and is
    /// not atomic: for tests and offline checks of a quiet store only.
    public func consistencyProblems(logCap: Int) async throws -> [String] {
        var problems: [String] = []
        let names = try await allKeys()
        let tag = keys.tag

        // The operations, from `refs`.
        var expected: [String: [String: Int64]] = [:]  // sorted-set key → member → score
        func expect(_ key: String, _ member: String, _ score: Int64) { expected[key, default: [:]][member] = score }
        var operationKeys: Set<String> = []
        var logKeys: Set<String> = []
        for member in try await sortedSet(keys.refs).keys {
            expect(keys.refs, member, 0)
            guard let ref = RedisOperationKeys.ref(member: member) else {
                problems.append("refs: member \(member.debugDescription) names no operation")
                continue
            }
            let key = keys.operation(ref)
            operationKeys.insert(key)
            logKeys.insert(keys.log(ref))
            let hash = try await self.hash(key)
            guard let body = hash["body"] else {
                problems.append("\(ref): in refs without a stored operation")
                continue
            }
            let op: OperationRecord
            do {
                guard
                    let decoded = try RedisOperationCodec.operation(
                        body: .bulkString(.init(string: body)), heartbeat: hash["hb"].map { .bulkString(.init(string: $0)) } ?? .bulkString(nil))
                else { continue }
                op = decoded
            } catch {
                problems.append("\(ref): unreadable body")
                continue
            }
            problems += Self.fieldProblems(op, ref: ref, hash: hash)
            let created = op.createdAt.millisecondsSince1970
            expect(keys.all(tenant: ref.tenant), ref.id, created)
            var dimensions = [
                ("status", op.status.rawValue), ("type", op.type), ("tkind", op.target.kind), ("tid", op.target.id),
            ]
            if let team = op.teamID { dimensions.append(("team", team)) }
            for (dimension, value) in dimensions { expect(keys.index(tenant: ref.tenant, dimension, value), ref.id, created) }
            if let deadline = op.heartbeatDeadline { expect(keys.heartbeats, member, deadline.millisecondsSince1970) }
            if op.status.isTerminal, let completed = op.completedAt { expect(keys.finished, member, completed.millisecondsSince1970) }
            problems += try await logProblems(op, logCap: logCap)
        }

        // Every sorted set that should exist holds exactly what it should; no other keys.
        let idempotencyPrefix = "\(tag):idem:"
        for name in names.sorted() {
            if name.hasPrefix("\(tag):tmp:") {
                problems.append("\(name): a temporary key was left behind")
            } else if name.hasPrefix("\(tag):op:") {
                if !operationKeys.contains(name) { problems.append("\(name): an operation missing from refs") }
            } else if name.hasPrefix("\(tag):log:") {
                if !logKeys.contains(name) { problems.append("\(name): the log of no operation") }
            } else if name.hasPrefix(idempotencyPrefix) || name == keys.idempotencyClaims || name == keys.refs {
                continue
            } else if expected[name] == nil {
                problems.append("\(name): an unexpected key")
            }
        }
        for (name, members) in expected.sorted(by: { $0.key < $1.key }) where name != keys.refs {
            let actual = try await sortedSet(name)
            for (member, score) in members where actual[member] != score {
                problems.append("\(name): \(member.debugDescription) is \(actual[member].map { "at \($0)" } ?? "missing"), expected at \(score)")
            }
            for member in actual.keys where members[member] == nil {
                problems.append("\(name): \(member.debugDescription) should not be there")
            }
        }
        problems += try await idempotencyProblems(names.filter { $0.hasPrefix(idempotencyPrefix) })
        return problems
    }

    static func fieldProblems(_ op: OperationRecord, ref: OperationRef, hash: [String: String]) -> [String] {
        var problems: [String] = []
        if op.ref != ref { problems.append("\(ref): body is of \(op.ref)") }
        let deadline = op.heartbeatDeadline
        let copies: [(String, String?)] = [
            ("version", String(op.version)), ("status", op.status.rawValue), ("type", op.type), ("tkind", op.target.kind),
            ("tid", op.target.id), ("team", op.teamID), ("created", String(op.createdAt.millisecondsSince1970)),
            ("seq", String(op.logSequence)), ("dropped", String(op.droppedLogLines)),
            ("hb", op.lastHeartbeatAt.map { String($0.millisecondsSince1970) }),
            ("hbto", deadline == nil ? nil : op.heartbeatTimeoutSeconds.map(String.init)),
        ]
        for (field, value) in copies where hash[field] != value {
            problems.append("\(ref): field \(field) is \(hash[field] ?? "absent"), the body says \(value ?? "absent")")
        }
        if !(0...100).contains(op.progress) { problems.append("\(ref): progress \(op.progress)") }
        if op.version < 1 { problems.append("\(ref): version \(op.version)") }
        if op.status.isTerminal != (op.completedAt != nil) { problems.append("\(ref): completed_at and status disagree") }
        if op.droppedLogLines > op.logSequence { problems.append("\(ref): more lines dropped than appended") }
        return problems
    }

    func logProblems(_ op: OperationRecord, logCap: Int) async throws -> [String] {
        let lines = try await sortedSet(keys.log(op.ref))
        var sequences: [Int] = []
        var problems: [String] = []
        for (member, score) in lines {
            let line = try RedisOperationCodec.line(.bulkString(.init(string: member)))
            if Int64(line.sequence) != score { problems.append("\(op.ref): log line \(line.sequence) scored \(score)") }
            sequences.append(line.sequence)
        }
        sequences.sort()
        let first = op.droppedLogLines + 1
        if sequences != Array(stride(from: first, through: op.logSequence, by: 1)) {
            problems.append(
                "\(op.ref): log holds \(sequences.first ?? 0)…\(sequences.last ?? 0) (\(sequences.count) lines), expected \(first)…\(op.logSequence)")
        }
        if sequences.count > max(logCap, 0) { problems.append("\(op.ref): \(sequences.count) log lines over the cap \(logCap)") }
        return problems
    }

    func idempotencyProblems(_ names: [String]) async throws -> [String] {
        let claims = try await sortedSet(keys.idempotencyClaims)
        var problems: [String] = []
        for name in names {
            let hash = try await self.hash(name)
            guard let at = hash["at"].flatMap(Int64.init), hash["fp"] != nil else {
                problems.append("\(name): an idempotency key without fingerprint or claim time")
                continue
            }
            if claims[name] != at { problems.append("\(name): claimed at \(at) but indexed at \(claims[name].map(String.init) ?? "nothing")") }
            let ttl = try await send(["PTTL", .string(name)]).integer ?? -2
            if ttl < 0 { problems.append("\(name): an idempotency key without expiry") }
        }
        return problems
    }

    // MARK: Reading everything

    /// Every key of the prefix.
    func allKeys() async throws -> Set<String> {
        var cursor = "0"
        var names: Set<String> = []
        let pattern = Self.globEscaped(keys.tag) + ":*"
        repeat {
            let reply = try await send(["SCAN", .string(cursor), "MATCH", .string(pattern), "COUNT", 1000])
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let batch = parts[1].array else {
                throw Self.unexpected(reply)
            }
            names.formUnion(batch.compactMap(\.string))
            cursor = next
        } while cursor != "0"
        return names
    }

    func sortedSet(_ key: String) async throws -> [String: Int64] {
        let reply = try await send(["ZRANGE", .string(key), 0, -1, "WITHSCORES"])
        guard let values = reply.array, values.count % 2 == 0 else { throw Self.unexpected(reply) }
        var members: [String: Int64] = [:]
        for index in stride(from: 0, to: values.count, by: 2) {
            guard let member = values[index].string, let score = values[index + 1].string.flatMap(Double.init) else {
                throw Self.unexpected(reply)
            }
            members[member] = Int64(score)
        }
        return members
    }

    func hash(_ key: String) async throws -> [String: String] {
        let reply = try await send(["HGETALL", .string(key)])
        guard let values = reply.array, values.count % 2 == 0 else { throw Self.unexpected(reply) }
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: values.count, by: 2) {
            guard let field = values[index].string, let value = values[index + 1].string else { throw Self.unexpected(reply) }
            fields[field] = value
        }
        return fields
    }

    /// `text` with the glob characters of `SCAN MATCH` escaped.
    static func globEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
