import Hub
import Hummingbird
import Protocol

/// `POST /api/v1/events` and `GET /api/v1/topics/{topic}/history`.
struct EventRoutes {
    let deps: RouteDependencies

    func register(on group: RouterGroup<HubRequestContext>) {
        group.post("events", use: publish)
        group.get("topics/{topic}/history", use: history)
    }

    @Sendable func publish(_ request: Request, context: HubRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let body = try await JSONBody.decode(PublishBody.self, from: request, limit: deps.configuration.server.maxBodyBytes)
        let items: [PublishRequest]
        switch body {
        case .single(let item): items = [item]
        case .batch(let batch): items = batch
        }
        let limit = deps.configuration.limits.maxBatchEvents
        guard !items.isEmpty else { throw APIError(.validationError, "events is empty") }
        guard items.count <= limit else {
            throw APIError(.validationError, "at most \(limit) events per request", details: ["field": "events", "limit": .number(Double(limit))])
        }
        var drafts: [EventDraft] = []
        for (index, item) in items.enumerated() {
            drafts.append(try await draft(item, index: index, batch: items.count > 1, identity: identity))
        }
        let events = try await deps.core.bus.publish(drafts)
        let published = events.map {
            PublishedEvent(topic: ClientTopic.display($0.topic), event: $0.event, offset: $0.offset.description, timestamp: Timestamp.format($0.timestamp))
        }
        return JSONResponse.ok(PublishResponse(events: published), context: context)
    }

    private func draft(_ item: PublishRequest, index: Int, batch: Bool, identity: Identity) async throws -> EventDraft {
        let field = batch ? "events[\(index)]." : ""
        let topic: Topic
        do {
            topic = try Topic(item.topic)
        } catch {
            throw APIError(.validationError, error.message, details: ["field": .string(field + "topic")])
        }
        guard !topic.isPattern else {
            throw APIError(.validationError, "cannot publish to a wildcard topic", details: ["field": .string(field + "topic")])
        }
        guard topic.rawValue != ClientTopic.notifications else {
            throw APIError(.validationError, "publish to user:{id}:notifications to reach one user", details: ["field": .string(field + "topic")])
        }
        guard EventName.isValid(item.event) else {
            throw APIError(.validationError, "event must be 1–64 characters of A-Z a-z 0-9 _ . -", details: ["field": .string(field + "event")])
        }
        if let team = item.teamID, (try? Topic(team)) == nil || team.contains(":") {
            throw APIError(.validationError, "team_id must be one topic segment", details: ["field": .string(field + "team_id")])
        }
        let permission = Permission(resource: "event", action: "publish")
        let target: AccessControl.Target
        if let ref = topic.entity {
            let record = try await deps.core.bus.entity(ref, tenant: identity.tenant)
            target = record.map { .entity(teamID: $0.teamID) } ?? .unknownEntity
        } else {
            target = .tenant
        }
        guard deps.core.access.allows(identity, permission, on: target) else {
            throw APIError(.forbidden, "event:publish is not granted for \(topic.rawValue)")
        }
        return EventDraft(tenant: identity.tenant, topic: topic, event: item.event, data: item.data ?? .object([:]), teamID: item.teamID)
    }

    @Sendable func history(_ request: Request, context: HubRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let text = try context.parameters.require("topic")
        let key: TopicKey
        switch await deps.core.resolve(text, for: identity) {
        case .success(let resolved): key = resolved
        case .failure(let denied):
            throw APIError(denied.code == .invalidTopic ? .validationError : denied.code, denied.message)
        }
        guard !key.topic.isPattern else { throw APIError(.validationError, "history is kept per topic, not for patterns") }
        var since: Offset?
        if let text = request.uri.queryParameters["since"], !text.isEmpty {
            guard let offset = Offset(String(text)) else {
                throw APIError(.validationError, "since is not an offset", details: ["field": "since"])
            }
            since = offset
        }
        var limit = deps.configuration.limits.historyLength
        if let text = request.uri.queryParameters["limit"] {
            guard let value = Int(text), value >= 1 else {
                throw APIError(.validationError, "limit must be a positive integer", details: ["field": "limit"])
            }
            limit = min(value, limit)
        }
        let page = try await deps.core.bus.history(key, after: since, limit: limit)
        let response = HistoryResponse(
            topic: text, events: page.events.map(EventView.init), latest: page.latest?.description, resync: !page.complete,
            hasMore: page.truncated)
        return JSONResponse.ok(response, context: context)
    }
}
