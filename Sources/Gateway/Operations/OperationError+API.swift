import Operations
import Protocol

extension APIError {
    /// The REST form of an operations error: its wire code and HTTP status.
    init(_ error: OperationError) {
        let code: ErrorCode =
            switch error.code {
            case .validation: .validationError
            case .invalidTransition: .invalidTransition
            case .preconditionFailed: .preconditionFailed
            case .notFound: .notFound
            case .conflict: .conflict
            case .unprocessable: .unprocessable
            case .unavailable: .serviceUnavailable
            default: .internalError
            }
        var details: [String: JSONValue] = [:]
        if let field = error.field { details["field"] = .string(field) }
        if let reason = error.reason { details["reason"] = .string(reason) }
        self.init(code, error.message, details: details.isEmpty ? nil : .object(details))
    }

    /// Runs `body`, answering an `OperationError` with its REST form.
    static func mappingOperationErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as OperationError {
            throw APIError(error)
        }
    }
}
