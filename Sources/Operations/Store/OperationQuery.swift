/// The filters and page of `GET /operations`. Results are always the
/// caller's tenant only, newest first (`created_at` descending, then
/// `operation_id` descending to break ties).
public struct OperationQuery: Sendable, Hashable {
    public var tenant: String
    /// Any of these statuses (empty: all).
    public var statuses: Set<OperationStatus>
    public var type: String?
    public var targetKind: String?
    public var targetID: String?
    public var teamID: String?
    /// Only operations owned by one of these teams (`nil`: no restriction).
    /// Used for callers whose read permission is team-scoped.
    public var visibleTeams: Set<String>?
    /// 1-based page number.
    public var page: Int
    public var perPage: Int

    public init(
        tenant: String, statuses: Set<OperationStatus> = [], type: String? = nil, targetKind: String? = nil,
        targetID: String? = nil, teamID: String? = nil, visibleTeams: Set<String>? = nil, page: Int = 1, perPage: Int = 50
    ) {
        self.tenant = tenant
        self.statuses = statuses
        self.type = type
        self.targetKind = targetKind
        self.targetID = targetID
        self.teamID = teamID
        self.visibleTeams = visibleTeams
        self.page = page
        self.perPage = perPage
    }

    /// Whether `op` passes the filters (what every store must implement).
    public func matches(_ op: OperationRecord) -> Bool {
        guard op.tenant == tenant else { return false }
        if !statuses.isEmpty, !statuses.contains(op.status) { return false }
        if let type, op.type != type { return false }
        if let targetKind, op.target.kind != targetKind { return false }
        if let targetID, op.target.id != targetID { return false }
        if let teamID, op.teamID != teamID { return false }
        if let visibleTeams {
            guard let team = op.teamID, visibleTeams.contains(team) else { return false }
        }
        return true
    }

    /// The order of list results: newest first.
    public static func newestFirst(_ a: OperationRecord, _ b: OperationRecord) -> Bool {
        if a.createdAt != b.createdAt { return a.createdAt > b.createdAt }
        return a.id > b.id
    }
}

/// One page of a list.
public struct OperationPage: Sendable, Hashable {
    public var operations: [OperationRecord]
    /// How many operations match the filters in all.
    public var total: Int
    public var page: Int
    public var perPage: Int

    public init(operations: [OperationRecord], total: Int, page: Int, perPage: Int) {
        self.operations = operations
        self.total = total
        self.page = page
        self.perPage = perPage
    }
}
