import Foundation

/// An idempotency key as the store keys it: scoped to the tenant and the
/// caller, so two callers never see each other's answers.
public struct IdempotencyKey: Sendable, Hashable {
    public var tenant: String
    public var caller: String
    public var key: String

    public init(tenant: String, caller: String, key: String) {
        self.tenant = tenant
        self.caller = caller
        self.key = key
    }

    /// 1–255 visible ASCII characters.
    public static func isValid(_ key: String) -> Bool {
        (1...255).contains(key.utf8.count) && key.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}

/// The answer to claiming an idempotency key.
public enum IdempotencyClaim: Sendable, Hashable {
    /// The key is now held by this request: create, then complete the key.
    case claimed
    /// The key's first request finished: answer with the operation it created.
    case replay(OperationRecord)
    /// The key's first request is still in flight.
    case inFlight
    /// The key was used with a different request body.
    case mismatch
}
