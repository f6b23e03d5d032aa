import Foundation
import Hub
import Hummingbird
import Operations
import Prometheus
import Protocol

/// `GET /api/v1/status`, `GET /api/v1/status/applications/{id}`, and outside
/// `/api/v1`: `/health`, `/ready`, `/metrics`.
struct StatusRoutes {
    let deps: RouteDependencies

    struct Component: Encodable, Sendable {
        var status: String
        var detail: String?
    }

    struct PlatformStatus: Encodable, Sendable {
        var status: String
        var version: String
        var mode: String
        var uptimeSeconds: Int
        var connections: Int
        var components: [String: Component]

        enum CodingKeys: String, CodingKey {
            case status, version, mode, connections, components
            case uptimeSeconds = "uptime_seconds"
        }
    }

    struct ApplicationStatus: Encodable, Sendable {
        var applicationID: String
        var event: String
        var offset: String
        var timestamp: String
        var data: JSONValue

        enum CodingKeys: String, CodingKey {
            case applicationID = "application_id"
            case event, offset, timestamp, data
        }
    }

    struct Health: Encodable, Sendable {
        var status: String
    }

    func register(api: RouterGroup<HubRequestContext>, root: Router<HubRequestContext>) {
        api.get("status") { _, context in
            _ = try context.requireIdentity()
            let busReady = await deps.core.bus.isReady()
            let storeReady = await deps.operations.store.isReady()
            let redis: Component = deps.redisReady.map { ready in
                ready() ? Component(status: "ok") : Component(status: "unavailable", detail: "reconnecting")
            } ?? Component(status: "not_configured")
            let status = PlatformStatus(
                status: busReady && storeReady ? "ok" : "degraded", version: deps.version, mode: deps.mode,
                uptimeSeconds: Int(Date().timeIntervalSince(deps.startedAt)), connections: deps.core.registry.count,
                components: [
                    "hub": Component(status: "ok"),
                    "event_bus": Component(
                        status: busReady ? "ok" : "unavailable", detail: deps.redisReady == nil ? "in-process" : "redis"),
                    "operations_store": Component(
                        status: storeReady ? "ok" : "unavailable", detail: deps.redisReady == nil ? "sqlite" : "redis"),
                    "redis": redis,
                ])
            return JSONResponse.ok(status, context: context)
        }
        api.get("status/applications/{id}") { _, context in
            let identity = try context.requireIdentity()
            let id = try context.parameters.require("id")
            guard let topic = try? Topic("application:\(id):status") else {
                throw APIError(.validationError, "application id must be one topic segment")
            }
            let key = TopicKey(tenant: identity.tenant, topic: topic)
            let decision = try await deps.core.access.canRead(identity, topic: topic) { ref in
                try await deps.core.bus.entity(ref, tenant: identity.tenant)
            }
            guard decision == .allow else {
                if deps.core.access.hasAnyGrant(identity, Permission(resource: "application", action: "read")) {
                    throw APIError(.notFound, "no status known for application \(id)")
                }
                throw APIError(.forbidden, "application:read is not granted")
            }
            guard let last = try await deps.core.bus.lastEvent(key) else {
                throw APIError(.notFound, "no status known for application \(id)")
            }
            let status = ApplicationStatus(
                applicationID: id, event: last.event, offset: last.offset.description, timestamp: Timestamp.format(last.timestamp),
                data: last.data)
            return JSONResponse.ok(status, context: context)
        }
        root.get("health") { _, context in
            JSONResponse.ok(Health(status: "ok"), context: context)
        }
        root.get("ready") { _, context in
            let draining = deps.core.registry.isDraining
            let busReady = await deps.core.bus.isReady()
            let storeReady = await deps.operations.store.isReady()
            guard busReady, storeReady, !draining else {
                let reason = draining ? "shutting down" : !busReady ? "event bus unavailable" : "operations store unavailable"
                throw APIError(.serviceUnavailable, reason)
            }
            return JSONResponse.ok(Health(status: "ready"), context: context)
        }
        root.get("metrics") { _, _ in
            var bytes: [UInt8] = []
            deps.prometheus.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
