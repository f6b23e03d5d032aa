import Redis

extension RedisOperationScripts {
    /// One page of a list query, and the total, from the sorted-set indexes.
    ///
    /// The filters arrive as groups of index keys: an operation matches when it
    /// is in at least one key of every group (a group has several keys for
    /// several statuses or several visible teams; the values of one dimension
    /// exclude each other). Every index scores its members by created_at ms, so
    /// a reverse range gives newest first, ties by id descending (members of
    /// equal score are in byte order of the id).
    ///
    /// - No group: the tenant's `all` index. One group of one key: that key.
    ///   Both answer straight from the index: `ZCARD` + `ZREVRANGE`, O(log N + page).
    /// - Otherwise every multi-key group is `ZUNIONSTORE`d and all groups are
    ///   `ZINTERSTORE`d (`AGGREGATE MAX` keeps the created_at score) into
    ///   `{P}:tmp:*` keys, counted and ranged, and deleted before the script
    ///   returns: O(N·K + M·log M), N the smallest input, K the inputs, M the
    ///   result. No other client ever sees the temporary keys.
    ///
    /// Chosen over a read-only design (`ZINTERCARD` for the total, then a walk
    /// of the smallest index newest-first with `ZSCORE` probes of the others):
    /// measured on 20,000 operations (`RedisOperationStoreBenchmark`), that one
    /// is about 2× faster for a first page of two large filters (0.5 vs 1 ms)
    /// but 5× slower for a selective one (90 vs 17 µs), costs O(offset) for deep
    /// pages and O(smallest index) when few match, and cannot OR statuses or
    /// teams without temporary keys anyway. The price of this design: a list
    /// with two or more filter keys writes (and deletes) keys, so it goes to the
    /// AOF and replicas as commands (replicas recompute it), cannot run on a
    /// read replica, and fails like any write when Redis is out of memory.
    /// Every returned operation costs about 2 µs in the script (50 per page:
    /// ~100 µs of Redis time).
    ///
    /// - KEYS: the index keys, group after group.
    /// - ARGV: 1 tag, 2 tenant, 3 offset, 4 page size, 5… the size of each group.
    /// - Returns `{total, body, hb, body, hb, …}` for the page, newest first
    ///   (`hb` false when the operation has no heartbeat field).
    static let list = script(
        #"""
        local t = ARGV[2]
        local offset, count = tonumber(ARGV[3]), tonumber(ARGV[4])
        local groups, k = {}, 1
        for i = 5, #ARGV do
          local group = {}
          for _ = 1, tonumber(ARGV[i]) do
            group[#group + 1] = KEYS[k]
            k = k + 1
          end
          groups[#groups + 1] = group
        end
        local source, temporary = nil, {}
        if #groups == 0 then
          source = allKey(t)
        elseif #groups == 1 and #groups[1] == 1 then
          source = groups[1][1]
        else
          local inputs = {}
          for g, group in ipairs(groups) do
            if #group == 1 then
              inputs[#inputs + 1] = group[1]
            else
              local union = P .. ':tmp:union:' .. g
              local command = {'ZUNIONSTORE', union, #group}
              for _, key in ipairs(group) do command[#command + 1] = key end
              command[#command + 1] = 'AGGREGATE'
              command[#command + 1] = 'MAX'
              redis.call(unpack(command))
              temporary[#temporary + 1] = union
              inputs[#inputs + 1] = union
            end
          end
          if #inputs == 1 then
            source = inputs[1]
          else
            source = P .. ':tmp:inter'
            local command = {'ZINTERSTORE', source, #inputs}
            for _, key in ipairs(inputs) do command[#command + 1] = key end
            command[#command + 1] = 'AGGREGATE'
            command[#command + 1] = 'MAX'
            redis.call(unpack(command))
            temporary[#temporary + 1] = source
          end
        end
        local total = redis.call('ZCARD', source)
        local ids = {}
        if count > 0 then ids = redis.call('ZREVRANGE', source, offset, offset + count - 1) end
        if #temporary > 0 then redis.call('DEL', unpack(temporary)) end
        local answer = {total}
        for _, id in ipairs(ids) do
          local row = redis.call('HMGET', opKey(t, id), 'body', 'hb')
          answer[#answer + 1] = row[1]
          answer[#answer + 1] = row[2]
        end
        return answer
        """#)

    /// Log lines after a sequence number, with the operation's log counters, in one atomic read.
    /// - KEYS: 1 operation hash; 2 its log. ARGV: 1 tag, 2 after, 3 how many to fetch (≥ 1).
    /// - Returns false (nil) when the operation does not exist, else
    ///   `{last sequence, dropped, {member, …}}`, oldest first.
    static let logs = script(
        #"""
        local counters = redis.call('HMGET', KEYS[1], 'seq', 'dropped')
        if not counters[1] then return false end
        local lines = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[2], '+inf', 'LIMIT', 0, tonumber(ARGV[3]))
        return {tonumber(counters[1]), tonumber(counters[2]), lines}
        """#)

    /// Operations of every tenant in (tenant, id) order after a cursor.
    /// - KEYS: 1 `{P}:refs`. ARGV: 1 tag, 2 the `ZRANGEBYLEX` start (`-`, or `(` + member), 3 limit (> 0).
    /// - Returns `{body, hb, body, hb, …}` (an operation deleted meanwhile cannot
    ///   appear: the read is atomic).
    static let scan = script(
        #"""
        local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], '+', 'LIMIT', 0, tonumber(ARGV[3]))
        local answer = {}
        for _, m in ipairs(members) do
          local sep = string.find(m, '\0', 1, true)
          if sep then
            local t, id = string.sub(m, 1, sep - 1), string.sub(m, sep + 1)
            local row = redis.call('HMGET', opKey(t, id), 'body', 'hb')
            if row[1] then
              answer[#answer + 1] = row[1]
              answer[#answer + 1] = row[2]
            end
          end
        end
        return answer
        """#)

    /// Every script, for `RedisOperationStore.loadScripts()`.
    static let all: [RedisScript] = [
        insert, replace, touch, delete, purgeFinished, claimIdempotencyKey, releaseIdempotencyKey, purgeIdempotencyKeys,
        list, logs, scan,
    ]
}
