/// Why an operations request was refused: a closed set of codes, each with a
/// stable label usable in metrics, and for validation errors the field and
/// reason. The Gateway maps codes to HTTP (`VALIDATION_ERROR` 400,
/// `INVALID_TRANSITION` 409, `PRECONDITION_FAILED` 412, …); nothing here knows HTTP.
public struct OperationError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case validation
            case invalidTransition = "invalid_transition"
            case preconditionFailed = "precondition_failed"
            case notFound = "not_found"
            case conflict
            case unprocessable
            case unavailable
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A field is missing, malformed, out of range, or breaks a rule that
        /// does not depend on the status (progress going down, unknown stage).
        public static let validation = Code(.validation)
        /// The status machine does not allow the move (or the operation is terminal).
        public static let invalidTransition = Code(.invalidTransition)
        /// `If-Match` named a version that is no longer current.
        public static let preconditionFailed = Code(.preconditionFailed)
        /// No such operation in the caller's tenant.
        public static let notFound = Code(.notFound)
        /// The request conflicts with the current state: an idempotency key whose
        /// first request is still in flight, deleting a running operation, or a
        /// concurrent writer elsewhere changed the operation first.
        public static let conflict = Code(.conflict)
        /// An idempotency key reused with a different body.
        public static let unprocessable = Code(.unprocessable)
        /// The store or the event bus could not be reached; retrying later may succeed.
        public static let unavailable = Code(.unavailable)

        /// A label without associated values, for metrics.
        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    /// The request field at fault (validation errors).
    public let field: String?
    /// A short machine-readable reason (`out_of_range`, `decreasing`, `not_a_stage`, …).
    public let reason: String?

    public init(_ code: Code, _ message: String, field: String? = nil, reason: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.reason = reason
    }

    /// Whether retrying the same request later may succeed.
    public var temporary: Bool { code == .unavailable }

    public var description: String { "\(code): \(message)" }

    public static func validation(_ field: String, _ reason: String, _ message: String) -> OperationError {
        OperationError(.validation, message, field: field, reason: reason)
    }

    public static func notFound(_ id: String) -> OperationError {
        OperationError(.notFound, "no operation \(id)")
    }

    public static func invalidTransition(from: OperationStatus, to: OperationStatus) -> OperationError {
        let message =
            from.isTerminal
            ? "operation is \(from); terminal states never change"
            : "an operation cannot go from \(from) to \(to)"
        return OperationError(.invalidTransition, message, field: "status", reason: "\(from)->\(to)")
    }

    public static func unavailable(_ what: String) -> OperationError {
        OperationError(.unavailable, "unavailable: \(what)")
    }
}
