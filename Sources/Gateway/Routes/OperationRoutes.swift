import CoreMetrics
import Foundation
import HTTPTypes
import Hub
import Hummingbird
import Operations
import Protocol

/// The operations REST API (API.md, "Operations"): `/api/v1/operations…`.
/// Every answer is the envelope; operations errors map to their codes
/// (`VALIDATION_ERROR` 400, `INVALID_TRANSITION`/`CONFLICT` 409,
/// `PRECONDITION_FAILED` 412, `UNPROCESSABLE` 422, …).
struct OperationRoutes {
    let deps: RouteDependencies
    var operations: OperationService { deps.operations }
    var settings: OperationSettings { deps.configuration.operations }
    var permissions: OperationAccess { OperationAccess(access: deps.core.access) }

    func register(on group: RouterGroup<HubRequestContext>) {
        group.post("operations", use: create)
        group.get("operations", use: list)
        group.get("operations/{id}", use: get)
        group.patch("operations/{id}", use: update)
        group.delete("operations/{id}", use: delete)
        group.post("operations/{id}/cancel", use: cancel)
        group.get("operations/{id}/logs", use: logs)
        group.post("operations/{id}/logs", use: appendLogs)
        group.get("operations/{id}/events", use: events)
    }

    // MARK: Create and list

    @Sendable func create(_ request: Request, context: HubRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try permissions.requireAnyGrant(identity, OperationAccess.create)
        var idempotencyKey: String?
        if let key = request.headers[OperationHeaders.idempotencyKey] {
            guard IdempotencyKey.isValid(key) else {
                throw APIError(.validationError, "Idempotency-Key must be 1–255 visible ASCII characters", details: ["field": "Idempotency-Key"])
            }
            idempotencyKey = key
        }
        let body = try await OperationRequestBody.decode(CreateOperationBody.self, from: request, limit: settings.maxBodyBytes)
        let new = try body.value.model()
        try permissions.requireCreate(identity, teamID: new.teamID)
        let created = try await APIError.mappingOperationErrors {
            try await operations.create(
                new, tenant: identity.tenant, createdBy: identity.subject,
                idempotency: idempotencyKey.map { OperationService.Idempotency(key: $0, fingerprint: body.canonical) })
        }
        var headers = headers(for: created.operation)
        headers[.location] = "/api/v1/operations/\(created.operation.id)"
        if created.replayed { headers[OperationHeaders.idempotentReplayed] = "true" }
        return JSONResponse.ok(created.operation, context: context, status: .created, headers: headers)
    }

    @Sendable func list(_ request: Request, context: HubRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let visible = try permissions.visibleTeams(identity)
        let q = request.uri.queryParameters
        var query = OperationQuery(tenant: identity.tenant, visibleTeams: visible, perPage: settings.defaultPageSize)
        if let text = q["status"], !text.isEmpty {
            for item in text.split(separator: ",") {
                guard let status = OperationStatus(rawValue: String(item)) else {
                    throw APIError(.validationError, "unknown status '\(item)'", details: ["field": "status", "reason": "invalid"])
                }
                query.statuses.insert(status)
            }
        }
        query.type = q["type"].map(String.init)
        query.targetKind = q["target_kind"].map(String.init)
        query.targetID = q["target_id"].map(String.init)
        query.teamID = q["team_id"].map(String.init)
        query.page = try integer(q["page"], "page", range: 1...Int.max) ?? 1
        query.perPage = try integer(q["per_page"], "per_page", range: 1...settings.maxPageSize) ?? settings.defaultPageSize
        let page = try await APIError.mappingOperationErrors { try await operations.list(query) }
        return JSONResponse.ok(
            page.operations, context: context, pagination: Pagination(page: page.page, perPage: page.perPage, total: page.total))
    }

    // MARK: One operation

    @Sendable func get(_ request: Request, context: HubRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let wait = try integer(request.uri.queryParameters["wait_seconds"], "wait_seconds", range: 0...settings.maxWaitSeconds) ?? 0
        let op = try await authorized(request, context, OperationAccess.read)
        guard EntityTag.noneMatchNames(request, version: op.version) == true else {
            return JSONResponse.ok(json: deps.encodedOperations.json(for: op), context: context, headers: headers(for: op))
        }
        guard wait > 0 else { return notModified(op, context: context) }
        deps.operationWaiters.increment()
        defer { deps.operationWaiters.decrement() }
        let changed = try await APIError.mappingOperationErrors {
            try await operations.waitForChange(
                OperationRef(tenant: identity.tenant, id: op.id), from: op.version, seconds: Double(wait))
        }
        guard let changed else { return notModified(op, context: context) }
        return JSONResponse.ok(json: deps.encodedOperations.json(for: changed), context: context, headers: headers(for: changed))
    }

    @Sendable func update(_ request: Request, context: HubRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try permissions.requireAnyGrant(identity, OperationAccess.update)
        let ifMatch = try EntityTag.ifMatch(request)
        let op = try await authorized(request, context, OperationAccess.update)
        let body = try await OperationRequestBody.decode(PatchOperationBody.self, from: request, limit: settings.maxBodyBytes)
        let update = try body.value.model()
        let updated = try await APIError.mappingOperationErrors {
            try await operations.update(op.ref, update, ifMatch: ifMatch)
        }
        return JSONResponse.ok(updated, context: context, headers: headers(for: updated))
    }

    @Sendable func cancel(_ request: Request, context: HubRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try permissions.requireAnyGrant(identity, OperationAccess.cancel)
        let ifMatch = try EntityTag.ifMatch(request)
        let op = try await authorized(request, context, OperationAccess.cancel)
        let cancelled = try await APIError.mappingOperationErrors {
            try await operations.cancel(op.ref, requestedBy: identity.subject, ifMatch: ifMatch)
        }
        return JSONResponse.ok(cancelled, context: context, headers: headers(for: cancelled))
    }

    @Sendable func delete(_ request: Request, context: HubRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try permissions.requireAnyGrant(identity, OperationAccess.delete)
        let ifMatch = try EntityTag.ifMatch(request)
        let op = try await authorized(request, context, OperationAccess.delete)
        try await APIError.mappingOperationErrors { try await operations.delete(op.ref, ifMatch: ifMatch) }
        return JSONResponse.ok(DeletedOperationView(operationID: op.id), context: context)
    }

    // MARK: Helpers

    /// The operation named by the path, in the caller's tenant, if the caller holds `permission` on it.
    func authorized(_ request: Request, _ context: HubRequestContext, _ permission: Permission) async throws -> OperationRecord {
        let identity = try context.requireIdentity()
        try permissions.requireAnyGrant(identity, permission)
        let id = try context.parameters.require("id")
        let op = try await APIError.mappingOperationErrors {
            try await operations.operation(OperationRef(tenant: identity.tenant, id: id))
        }
        try permissions.require(identity, permission, on: op)
        return op
    }

    /// `ETag`, and for an operation still running `Retry-After` (the suggested poll interval).
    func headers(for op: OperationRecord) -> HTTPFields {
        Self.headers(for: op, pollInterval: settings.pollIntervalSeconds)
    }

    /// The same, for answers written outside a route (a parked long-poll).
    static func headers(for op: OperationRecord, pollInterval: Int) -> HTTPFields {
        var fields: HTTPFields = [.eTag: EntityTag.header(op.version)]
        if !op.status.isTerminal { fields[.retryAfter] = String(pollInterval) }
        return fields
    }

    func notModified(_ op: OperationRecord, context: HubRequestContext) -> Response {
        Response(status: .notModified, headers: headers(for: op))
    }

    func integer(_ text: Substring?, _ field: String, range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            let upper = range.upperBound == Int.max ? "" : "–\(range.upperBound)"
            throw APIError(
                .validationError, "\(field) must be an integer \(range.lowerBound)\(upper)",
                details: ["field": .string(field), "reason": "out_of_range", "max": range.upperBound == Int.max ? .null : .number(Double(range.upperBound))])
        }
        return value
    }
}

/// Header names of the operations routes (a namespace of their own, so they
/// cannot collide with names other routes declare).
enum OperationHeaders {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let accelBuffering = HTTPField.Name("X-Accel-Buffering")!
}
