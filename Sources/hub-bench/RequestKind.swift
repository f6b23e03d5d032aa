/// The kinds of request the operations scenarios time separately.
enum RequestKind: Int, Sendable, CaseIterable {
    case create
    case patch
    /// A PATCH with a deliberately stale `If-Match` (`--stale-every`): the version check must answer 412.
    case stalePatch
    case get
    case health
    /// `GET /health` with the bench's token: the auth middleware's work without the route's.
    case healthWithToken

    var name: String {
        switch self {
        case .create: "create"
        case .patch: "patch"
        case .stalePatch: "patch_stale"
        case .get: "get"
        case .health: "health"
        case .healthWithToken: "health_token"
        }
    }

    /// The status a correct answer has.
    var expectedStatus: Int {
        switch self {
        case .create: 201
        case .stalePatch: 412
        case .patch, .get, .health, .healthWithToken: 200
        }
    }

    var request: String {
        switch self {
        case .create: "POST /api/v1/operations"
        case .patch: "PATCH /api/v1/operations/{id} (If-Match: current)"
        case .stalePatch: "PATCH /api/v1/operations/{id} (If-Match: stale)"
        case .get: "GET /api/v1/operations/{id}"
        case .health: "GET /health (no token)"
        case .healthWithToken: "GET /health (Authorization: Bearer)"
        }
    }

    init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = kind
    }
}
