import Redis

/// The Lua scripts of the Redis event bus. Each runs atomically (nothing
/// else runs on the server meanwhile); each is sent with `EVALSHA` and
/// falls back to `EVAL` after `NOSCRIPT` (``RedisClient/evaluate(_:keys:arguments:)``).
/// Redis does not roll a script back when a command fails half-way, so the
/// scripts that write check every key's type before writing anything.
enum RedisBusScripts {
    /// Appends events to their topics' histories and publishes them.
    ///
    /// `ARGV[1]` MAXLEN (approximate), `ARGV[2]` TTL in ms (`0`: none),
    /// `ARGV[3]` a fresh random epoch (used only when a topic's history is
    /// (re)created), `ARGV[4]` the number of events, `ARGV[5]` a consumer
    /// group (`''`: none) and `ARGV[6]` an entry id to acknowledge first.
    /// With a group, `KEYS[1]` is the acknowledged stream. Then for each
    /// event the keys stream, meta[, entity] and the arguments channel,
    /// stored event, team (`''`: none), has-entity (`1`/`0`).
    ///
    /// Per event, atomically: when the stream does not exist and the meta
    /// hash has no epoch or says the stream was created before (it was lost:
    /// a restart without persistence, an eviction, a TTL), the topic gets the
    /// new epoch; `XADD … MAXLEN ~ N * p <previous id> e <stored event>`,
    /// where `p` is the id of the entry before it (`0-0` for the first): once
    /// trimming has removed every entry before the first one left, that
    /// first entry's `p` is the newest id ever trimmed (Redis itself does not
    /// record it: `max-deleted-entry-id` only follows `XDEL`); the last
    /// value; `PUBLISH` of
    /// `<epoch>:<id> <stored event>`; the entity's team when named; the TTL
    /// (or `PERSIST` of a placeholder meta when there is none).
    ///
    /// Returns the offsets (`<epoch>:<id>`) in order; `false` (nil) when the
    /// entry to acknowledge was not pending any more (already handled), in
    /// which case nothing is published.
    static let publish = RedisScript(
        """
        local n = tonumber(ARGV[4])
        local ttl = tonumber(ARGV[2])
        local first = 1
        if ARGV[5] ~= '' then first = 2 end
        local k, a = first, 7
        for i = 1, n do
          local t = redis.call('TYPE', KEYS[k]).ok
          if t ~= 'stream' and t ~= 'none' then return redis.error_reply('WRONGTYPE ' .. KEYS[k] .. ' is not a stream') end
          t = redis.call('TYPE', KEYS[k + 1]).ok
          if t ~= 'hash' and t ~= 'none' then return redis.error_reply('WRONGTYPE ' .. KEYS[k + 1] .. ' is not a hash') end
          if ARGV[a + 3] == '1' then
            t = redis.call('TYPE', KEYS[k + 2]).ok
            if t ~= 'string' and t ~= 'none' then return redis.error_reply('WRONGTYPE ' .. KEYS[k + 2] .. ' is not a string') end
            k = k + 3
          else
            k = k + 2
          end
          a = a + 4
        end
        if ARGV[5] ~= '' then
          if redis.call('XACK', KEYS[1], ARGV[5], ARGV[6]) == 0 then return false end
        end
        local out = {}
        k, a = first, 7
        for i = 1, n do
          local stream, meta = KEYS[k], KEYS[k + 1]
          local state = redis.call('HMGET', meta, 'epoch', 'created')
          local epoch = state[1]
          if redis.call('EXISTS', stream) == 0 then
            if (not epoch) or state[2] == '1' then epoch = ARGV[3] end
            redis.call('HSET', meta, 'epoch', epoch, 'created', '1')
            if ttl == 0 then redis.call('PERSIST', meta) end
          elseif not epoch then
            epoch = ARGV[3]
            redis.call('HSET', meta, 'epoch', epoch, 'created', '1')
          end
          local previous = '0-0'
          local newest = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
          if newest[1] then previous = newest[1][1] end
          local id = redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], '*', 'p', previous, 'e', ARGV[a + 1])
          local offset = epoch .. ':' .. id
          local message = offset .. ' ' .. ARGV[a + 1]
          redis.call('HSET', meta, 'last', message)
          redis.call('PUBLISH', ARGV[a], message)
          if ARGV[a + 3] == '1' then
            redis.call('SET', KEYS[k + 2], 'team:' .. ARGV[a + 2])
            k = k + 3
          else
            k = k + 2
          end
          if ttl > 0 then
            redis.call('PEXPIRE', stream, ttl)
            redis.call('PEXPIRE', meta, ttl)
          end
          out[i] = offset
          a = a + 4
        end
        return out
        """)

    /// Reads a topic's history state and entries in one atomic step.
    ///
    /// `KEYS[1]` stream, `KEYS[2]` meta; `ARGV[1]` the epoch the caller
    /// expects (`''`: any), `ARGV[2]` the exclusive start id (`''`: from the
    /// first entry), `ARGV[3]` COUNT. Returns `{epoch, created,
    /// last-generated-id, max-deleted-entry-id, floor, entries}` (nil for
    /// what does not exist; entries only when the epoch is the expected one).
    /// `floor` is the `p` of the first entry left: the newest id trimmed away
    /// (`0-0` when nothing was; the first entry's own id when it has no `p`,
    /// which errs towards resync). `max-deleted-entry-id` (Redis 7) is the
    /// newest id removed by `XDEL`. When either is after the caller's offset,
    /// an event after that offset is gone.
    static let history = RedisScript(
        """
        local state = redis.call('HMGET', KEYS[2], 'epoch', 'created')
        local epoch, created = state[1], state[2]
        local last, deleted = false, '0-0'
        if redis.call('EXISTS', KEYS[1]) == 1 then
          local info = redis.call('XINFO', 'STREAM', KEYS[1])
          for i = 1, #info, 2 do
            if info[i] == 'last-generated-id' then last = info[i + 1]
            elseif info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
          end
        end
        local floor = '0-0'
        if last then
          local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
          if first[1] then
            floor = first[1][1]
            local fields = first[1][2]
            for j = 1, #fields, 2 do
              if fields[j] == 'p' then floor = fields[j + 1] end
            end
          end
        end
        local entries = {}
        if epoch and last and (ARGV[1] == '' or ARGV[1] == epoch) then
          local start = '-'
          if ARGV[2] ~= '' then start = '(' .. ARGV[2] end
          entries = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', ARGV[3])
        end
        return {epoch, created, last, deleted, floor, entries}
        """)

    /// Marks where topics stand, in band, for a node that just subscribed:
    /// publishes `sync <epoch>:<last entry id> <topic> <tenant>` (`0-0`
    /// without entries) on each topic's channel. The marker reaches every
    /// subscriber of the channel in order with the events: each event up to
    /// that position was published before it, each later one after it, so a
    /// node that receives the marker knows that it is up to date there (see
    /// ``RedisSubscriptionTable/synced(_:_:)``). A position merely *read*
    /// would not do: an event published just before the read may still be on
    /// its way to the subscriber.
    ///
    /// `KEYS` pairs of stream, meta; `ARGV[1]` a fresh epoch, `ARGV[2]` the
    /// placeholder TTL in ms, then per topic its channel, topic and tenant.
    /// A topic without an epoch gets the fresh one now (with `created`
    /// telling whether a stream exists), so that a history lost later is told
    /// apart from a topic that had no event.
    static let sync = RedisScript(
        """
        local a = 3
        for i = 1, #KEYS, 2 do
          local stream, meta = KEYS[i], KEYS[i + 1]
          local exists = redis.call('EXISTS', stream) == 1
          local epoch = redis.call('HGET', meta, 'epoch')
          if not epoch then
            epoch = ARGV[1]
            if exists then
              redis.call('HSET', meta, 'epoch', epoch, 'created', '1')
            else
              redis.call('HSET', meta, 'epoch', epoch, 'created', '0')
              redis.call('PEXPIRE', meta, ARGV[2])
            end
          end
          local last = '0-0'
          if exists then
            local entries = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
            if entries[1] then last = entries[1][1] end
          end
          redis.call('PUBLISH', ARGV[a], 'sync ' .. epoch .. ':' .. last .. ' ' .. ARGV[a + 1] .. ' ' .. ARGV[a + 2])
          a = a + 3
        end
        return #KEYS / 2
        """)

    /// Acknowledges a malformed ingest entry and copies it to the dead-letter
    /// stream, once: `KEYS[1]` ingest stream, `KEYS[2]` dead-letter stream;
    /// `ARGV[1]` group, `ARGV[2]` entry id, `ARGV[3]` MAXLEN (approximate),
    /// `ARGV[4]` reason, `ARGV[5]` consumer, `ARGV[6]` the entry's `event`
    /// field (`''` when missing). Returns 1, or 0 when the entry was not
    /// pending any more (nothing written).
    static let deadLetter = RedisScript(
        """
        local t = redis.call('TYPE', KEYS[2]).ok
        if t ~= 'stream' and t ~= 'none' then return redis.error_reply('WRONGTYPE ' .. KEYS[2] .. ' is not a stream') end
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*',
          'id', ARGV[2], 'reason', ARGV[4], 'consumer', ARGV[5], 'event', ARGV[6])
        return 1
        """)

    /// Trims the ingest stream `KEYS[1]` of the entries every consumer group
    /// has read and acknowledged: below the oldest pending entry of each
    /// group, or its `last-delivered-id` when nothing is pending (that entry
    /// itself stays), whichever is lowest over all groups, so a group of
    /// another reader keeps everything it has not handled. Exact
    /// (`XTRIM … MINID`, not `~`). Returns the number of entries removed;
    /// 0 when the stream or every group is missing.
    static let trimAcknowledged = RedisScript(
        """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        local function parse(id)
          local ms, seq = string.match(id, '^(%d+)-(%d+)$')
          return tonumber(ms), tonumber(seq)
        end
        local function below(a, b)
          local am, as = parse(a)
          local bm, bs = parse(b)
          return am < bm or (am == bm and as < bs)
        end
        local floor = nil
        for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
          local info = {}
          for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
          local mark = info['last-delivered-id']
          if info['pending'] > 0 then
            mark = redis.call('XPENDING', KEYS[1], info['name'])[2]
          end
          if floor == nil or below(mark, floor) then floor = mark end
        end
        if floor == nil or floor == '0-0' then return 0 end
        return redis.call('XTRIM', KEYS[1], 'MINID', floor)
        """)
}
