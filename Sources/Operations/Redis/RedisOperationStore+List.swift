import Redis

extension RedisOperationStore {
    /// One script call (`RedisOperationScripts.list`): the filters become
    /// groups of index keys; no filter or one single-valued filter reads an
    /// index directly, more filters intersect in temporary keys inside the script.
    public func list(_ query: OperationQuery) async throws -> OperationPage {
        guard let groups = indexGroups(query) else {
            return OperationPage(operations: [], total: 0, page: query.page, perPage: query.perPage)
        }
        let perPage = max(query.perPage, 0)
        let offset = max(query.page - 1, 0) * perPage
        var arguments: [RedisArgument] = [.string(query.tenant), .integer(offset), .integer(perPage)]
        arguments += groups.map { .integer($0.count) }
        let reply = try await run(RedisOperationScripts.list, keys: groups.flatMap { $0 }, arguments)
        guard let total = reply.array?.first?.integer else { throw Self.unexpected(reply) }
        return OperationPage(
            operations: try Self.operations(reply, from: 1), total: Int(total), page: query.page, perPage: query.perPage)
    }

    /// The index keys of the filters, one group per filter (an operation
    /// matches when it is in some key of every group); nil when nothing can
    /// match (`visibleTeams` empty).
    func indexGroups(_ query: OperationQuery) -> [[String]]? {
        let tenant = query.tenant
        var groups: [[String]] = []
        if !query.statuses.isEmpty {
            groups.append(query.statuses.map(\.rawValue).sorted().map { keys.index(tenant: tenant, "status", $0) })
        }
        if let type = query.type { groups.append([keys.index(tenant: tenant, "type", type)]) }
        if let kind = query.targetKind { groups.append([keys.index(tenant: tenant, "tkind", kind)]) }
        if let id = query.targetID { groups.append([keys.index(tenant: tenant, "tid", id)]) }
        if let team = query.teamID { groups.append([keys.index(tenant: tenant, "team", team)]) }
        if let teams = query.visibleTeams {
            guard !teams.isEmpty else { return nil }
            groups.append(teams.sorted().map { keys.index(tenant: tenant, "team", $0) })
        }
        return groups
    }
}
