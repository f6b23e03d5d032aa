import Redis

/// The Lua scripts of `RedisOperationStore`, one per atomic step of the
/// contract. Each runs as one `EVALSHA` (the client falls back to `EVAL`
/// after `NOSCRIPT`); Redis runs a script without interleaving any other
/// command, so each is all-or-nothing towards other clients. Scripts check
/// everything that can refuse the write (the version guard, existence)
/// before their first write, so a refused call changes nothing.
///
/// Every script gets the key tag `{P}` as `ARGV[1]` and shares the helpers
/// of `prelude` (key names, index maintenance, change messages). Keys the
/// caller can name are declared in `KEYS`; keys derived from stored data
/// (old index entries, operations found by a sweep) are built from the tag,
/// which is legal on Redis Cluster because every key shares the tag's slot.
///
/// Answers are arrays whose first element is a status: `0` done, `1` no such
/// operation, `2` version conflict (second element: the stored version),
/// `3` the operation exists already.
///
/// "Fields" below are the 14 arguments of `RedisOperationCodec.fieldArguments`:
/// body, version, status, type, tkind, tid, team (`-` none or `+name`),
/// created ms, hb ms (empty: none), hbto s (empty: no deadline applies), seq,
/// dropped, heartbeat deadline ms (empty: none), completed ms (empty: not
/// terminal).
enum RedisOperationScripts {
    /// Helpers shared by every script (see `RedisOperationKeys` for the layout).
    static let prelude = #"""
        local P = ARGV[1]
        local DIMS = {'status', 'type', 'tkind', 'tid', 'team'}
        local ESC = {['%'] = '%25', [':'] = '%3A'}
        local function esc(s) return (string.gsub(s, '[%%:]', ESC)) end
        local function opKey(t, id) return P .. ':op:' .. esc(t) .. ':' .. id end
        local function logKey(t, id) return P .. ':log:' .. esc(t) .. ':' .. id end
        local function allKey(t) return P .. ':t:' .. esc(t) .. ':all' end
        local function idx(t, dim, v) return P .. ':t:' .. esc(t) .. ':' .. dim .. ':' .. v end
        local function member(t, id) return t .. '\0' .. id end

        -- One message per committed change on {P}:changes (version 0: deleted).
        local function publish(t, id, v)
          redis.call('PUBLISH', P .. ':changes', cjson.encode({tenant = t, id = id, version = v}))
        end

        -- The 14 fields starting at ARGV[i].
        local function fields(i)
          local team = ARGV[i + 6]
          return {
            body = ARGV[i], version = ARGV[i + 1], status = ARGV[i + 2], type = ARGV[i + 3], tkind = ARGV[i + 4],
            tid = ARGV[i + 5], team = (team ~= '-') and string.sub(team, 2) or false, created = ARGV[i + 7],
            hb = ARGV[i + 8], hbto = ARGV[i + 9], seq = ARGV[i + 10], dropped = ARGV[i + 11],
            deadline = ARGV[i + 12], completed = ARGV[i + 13],
          }
        end

        -- nil when the operation at `key` has version `expected`, else the refusal to return.
        local function guard(key, expected)
          local v = redis.call('HGET', key, 'version')
          if not v then return {1} end
          if tonumber(v) ~= tonumber(expected) then return {2, tonumber(v)} end
          return nil
        end

        -- Writes fields `f` into the hash `key` and moves the operation between the
        -- indexes; `old` holds the stored status, type, tkind, tid, team, created
        -- (all false for a new operation). Only changed entries are touched.
        local function store(t, id, key, f, old)
          local values = {f.status, f.type, f.tkind, f.tid, f.team}
          local moved = old[6] ~= f.created
          for i, dim in ipairs(DIMS) do
            local was, now = old[i], values[i]
            if was and was ~= now then redis.call('ZREM', idx(t, dim, was), id) end
            if now and (was ~= now or moved) then redis.call('ZADD', idx(t, dim, now), f.created, id) end
          end
          if moved then redis.call('ZADD', allKey(t), f.created, id) end
          local set = {'HSET', key, 'body', f.body, 'version', f.version, 'status', f.status, 'type', f.type,
            'tkind', f.tkind, 'tid', f.tid, 'created', f.created, 'seq', f.seq, 'dropped', f.dropped}
          local unset = {'HDEL', key}
          local function put(name, value)
            if value then
              set[#set + 1] = name
              set[#set + 1] = value
            else
              unset[#unset + 1] = name
            end
          end
          put('team', f.team)
          put('hb', f.hb ~= '' and f.hb)
          put('hbto', f.hbto ~= '' and f.hbto)
          redis.call(unpack(set))
          if #unset > 2 then redis.call(unpack(unset)) end
          local m = member(t, id)
          if f.deadline ~= '' then redis.call('ZADD', P .. ':heartbeats', f.deadline, m)
          else redis.call('ZREM', P .. ':heartbeats', m) end
          if f.completed ~= '' then redis.call('ZADD', P .. ':finished', f.completed, m)
          else redis.call('ZREM', P .. ':finished', m) end
        end

        -- Deletes the operation at `key`, its log and every index entry.
        local function remove(t, id, key)
          local old = redis.call('HMGET', key, 'status', 'type', 'tkind', 'tid', 'team')
          for i, dim in ipairs(DIMS) do
            if old[i] then redis.call('ZREM', idx(t, dim, old[i]), id) end
          end
          redis.call('ZREM', allKey(t), id)
          local m = member(t, id)
          redis.call('ZREM', P .. ':heartbeats', m)
          redis.call('ZREM', P .. ':finished', m)
          redis.call('ZREM', P .. ':refs', m)
          redis.call('DEL', key, logKey(t, id))
        end

        """#

    static func script(_ body: String) -> RedisScript {
        RedisScript(prelude + body)
    }

    /// Inserts a new operation, optionally completing its idempotency claim.
    /// - KEYS: 1 operation hash; 2 (optional) the idempotency key to complete.
    /// - ARGV: 1 tag, 2 tenant, 3 id, 4–17 fields.
    /// - Returns `{0}`, or `{3}` when the operation exists (nothing written).
    ///   The claim is completed only if it still exists. Publishes the change.
    static let insert = script(
        #"""
        local t, id = ARGV[2], ARGV[3]
        if redis.call('EXISTS', KEYS[1]) == 1 then return {3} end
        local f = fields(4)
        store(t, id, KEYS[1], f, {false, false, false, false, false, false})
        redis.call('ZADD', P .. ':refs', 0, member(t, id))
        if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSET', KEYS[2], 'op', f.body) end
        publish(t, id, tonumber(f.version))
        return {0}
        """#)

    /// Compare-and-set: stores the new value if the stored version is the
    /// expected one, appends log lines and trims the log to the cap.
    /// - KEYS: 1 operation hash; 2 its log.
    /// - ARGV: 1 tag, 2 tenant, 3 id, 4 expected version, 5–18 fields,
    ///   19 trim bound (lines with sequence ≤ it are deleted: `logSequence - logCap`),
    ///   20… pairs of (sequence, member `<seq>\t<ms>\t<text>`).
    /// - Returns `{0, lines trimmed}`, `{1}` missing, `{2, version}` conflict.
    ///   Trims only when lines were appended. Publishes the change.
    static let replace = script(
        #"""
        local t, id = ARGV[2], ARGV[3]
        local refused = guard(KEYS[1], ARGV[4])
        if refused then return refused end
        local old = redis.call('HMGET', KEYS[1], 'status', 'type', 'tkind', 'tid', 'team', 'created')
        local f = fields(5)
        store(t, id, KEYS[1], f, old)
        local trimmed = 0
        if #ARGV > 19 then
          for i = 20, #ARGV, 1000 do
            local add = {'ZADD', KEYS[2]}
            for j = i, math.min(i + 999, #ARGV) do add[#add + 1] = ARGV[j] end
            redis.call(unpack(add))
          end
          trimmed = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[19])
        end
        publish(t, id, tonumber(f.version))
        return {0, trimmed}
        """#)

    /// Records a heartbeat (same version): `hb`, and the deadline when one applies.
    /// - KEYS: 1 operation hash. ARGV: 1 tag, 2 tenant, 3 id, 4 expected version, 5 heartbeat ms.
    /// - Returns `{0}`, `{1}` missing, `{2, version}` conflict. Publishes nothing
    ///   (the version, which waiters watch, does not change).
    static let touch = script(
        #"""
        local t, id = ARGV[2], ARGV[3]
        local refused = guard(KEYS[1], ARGV[4])
        if refused then return refused end
        redis.call('HSET', KEYS[1], 'hb', ARGV[5])
        local timeout = redis.call('HGET', KEYS[1], 'hbto')
        if timeout then
          local deadline = string.format('%d', tonumber(ARGV[5]) + 1000 * tonumber(timeout))
          redis.call('ZADD', P .. ':heartbeats', deadline, member(t, id))
        end
        return {0}
        """#)

    /// Deletes an operation, its log and its index entries, guarded by the version.
    /// - KEYS: 1 operation hash. ARGV: 1 tag, 2 tenant, 3 id, 4 expected version.
    /// - Returns `{0}`, `{1}` missing, `{2, version}` conflict. Publishes version 0.
    static let delete = script(
        #"""
        local t, id = ARGV[2], ARGV[3]
        local refused = guard(KEYS[1], ARGV[4])
        if refused then return refused end
        remove(t, id, KEYS[1])
        publish(t, id, 0)
        return {0}
        """#)

    /// Deletes up to `limit` terminal operations completed before a date, oldest first.
    /// - KEYS: 1 `{P}:finished`. ARGV: 1 tag, 2 before ms (exclusive), 3 limit (> 0).
    /// - Returns the members (`<tenant>\0<id>`) deleted. Publishes version 0 for each.
    static let purgeFinished = script(
        #"""
        local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
        local purged = {}
        for _, m in ipairs(members) do
          local sep = string.find(m, '\0', 1, true)
          if sep then
            local t, id = string.sub(m, 1, sep - 1), string.sub(m, sep + 1)
            remove(t, id, opKey(t, id))
            publish(t, id, 0)
            purged[#purged + 1] = m
          else
            redis.call('ZREM', KEYS[1], m)
          end
        end
        return purged
        """#)

    /// Claims an idempotency key (the decision of `claimIdempotencyKey`, on the caller's clock).
    /// - KEYS: 1 the key's hash; 2 `{P}:idem-claims`.
    /// - ARGV: 1 tag, 2 fingerprint, 3 now ms, 4 ttl ms (> 0), 5 lease ms.
    /// - Returns `{'claimed'}` (hash rewritten, `PEXPIRE` ttl, claim time indexed),
    ///   `{'replay', operation JSON}`, `{'in_flight'}` or `{'mismatch'}` (nothing written).
    static let claimIdempotencyKey = script(
        #"""
        local entry = redis.call('HMGET', KEYS[1], 'fp', 'at', 'op')
        local now = tonumber(ARGV[3])
        if entry[2] and tonumber(entry[2]) > now - tonumber(ARGV[4]) then
          if entry[1] ~= ARGV[2] then return {'mismatch'} end
          if entry[3] then return {'replay', entry[3]} end
          if tonumber(entry[2]) > now - tonumber(ARGV[5]) then return {'in_flight'} end
        end
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], 'fp', ARGV[2], 'at', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
        return {'claimed'}
        """#)

    /// Gives up a claim that was not completed.
    /// - KEYS: 1 the key's hash; 2 `{P}:idem-claims`. ARGV: 1 tag.
    /// - Returns `{0}`; a completed key is left alone.
    static let releaseIdempotencyKey = script(
        #"""
        if redis.call('HEXISTS', KEYS[1], 'op') == 0 then
          redis.call('DEL', KEYS[1])
          redis.call('ZREM', KEYS[2], KEYS[1])
        end
        return {0}
        """#)

    /// Deletes up to `limit` idempotency keys claimed before a date.
    /// - KEYS: 1 `{P}:idem-claims`. ARGV: 1 tag, 2 before ms (exclusive), 3 limit (> 0).
    /// - Returns `{claims looked at, keys deleted}`: a claim whose key Redis
    ///   already expired is removed from the index but not counted.
    static let purgeIdempotencyKeys = script(
        #"""
        local names = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
        local deleted = 0
        for _, name in ipairs(names) do
          deleted = deleted + redis.call('DEL', name)
          redis.call('ZREM', KEYS[1], name)
        end
        return {#names, deleted}
        """#)
}
