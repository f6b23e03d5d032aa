/// What an operation acts on: `{"kind":"application","id":"app_123"}`.
public struct OperationTarget: Sendable, Hashable, Codable {
    public var kind: String
    public var id: String

    public init(kind: String, id: String) {
        self.kind = kind
        self.id = id
    }
}

/// Why an operation failed: `{"code":"WORKER_TIMEOUT","message":"…"}`.
public struct OperationFailure: Sendable, Hashable, Codable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// The code the hub sets when a running operation's worker stops reporting.
    public static let workerTimeoutCode = "WORKER_TIMEOUT"
}

/// One operation of one tenant: the key of every per-operation structure.
public struct OperationRef: Sendable, Hashable, CustomStringConvertible {
    public var tenant: String
    public var id: String

    public init(tenant: String, id: String) {
        self.tenant = tenant
        self.id = id
    }

    public var description: String { "\(tenant)/\(id)" }
}
