import Foundation
import Gateway
import HTTPTypes
import Hub
import HubTesting
import Protocol
import Testing

/// Subscribes and returns the `subscribed` reply.
func subscribe(_ probe: WSProbe, _ topics: [String], id: String = "1", extra: [String: Any] = [:]) async throws -> [String: Any] {
    var message: [String: Any] = ["type": "subscribe", "id": id, "topics": topics]
    message.merge(extra) { _, new in new }
    probe.send(json: message)
    return try await probe.next(type: "subscribed")
}

func connect(_ hub: TestHub, sub: String = "alice", tenant: String = "acme", roles: [RoleGrant] = [RoleGrant(role: "admin")]) async throws -> WSProbe {
    let probe = WSProbe(url: hub.wsURL + "?token=" + (try await hub.token(sub: sub, tenant: tenant, roles: roles)))
    _ = try await probe.next(type: "welcome")
    return probe
}

func denied(_ reply: [String: Any]) -> [String: String] {
    var result: [String: String] = [:]
    for entry in reply["denied"] as? [[String: Any]] ?? [] {
        result[entry["topic"] as? String ?? ""] = entry["code"] as? String
    }
    return result
}

func granted(_ reply: [String: Any]) -> [String] {
    (reply["topics"] as? [[String: Any]] ?? []).compactMap { $0["topic"] as? String }
}

@Suite("WebSocket subscriptions")
struct WebSocketSubscriptionTests {
    @Test func subscribeThenReceiveLiveEvents() async throws {
        try await TestHub.run { hub in
            let probe = try await connect(hub)
            let reply = try await subscribe(probe, ["application:app_123:status", "bad topic!"])
            #expect(reply["id"] as? String == "1")
            #expect(granted(reply) == ["application:app_123:status"])
            #expect(denied(reply) == ["bad topic!": "INVALID_TOPIC"])
            let offset = try await hub.publish("application:app_123:status", data: #"{"status":"running"}"#)
            let event = try await probe.next()
            #expect(event["type"] as? String == "event")
            #expect(event["topic"] as? String == "application:app_123:status")
            #expect(event["event"] as? String == "status_changed")
            #expect(event["offset"] as? String == offset)
            #expect((event["data"] as? [String: Any])?["status"] as? String == "running")
            #expect(event["timestamp"] is String)
        }
    }

    @Test func unsubscribeStopsDelivery() async throws {
        try await TestHub.run { hub in
            let probe = try await connect(hub)
            _ = try await subscribe(probe, ["application:a:status", "application:b:status"])
            probe.send(json: ["type": "unsubscribe", "id": "2", "topics": ["application:a:status"]])
            let reply = try await probe.next()
            #expect(reply["type"] as? String == "unsubscribed")
            #expect(reply["topics"] as? [String] == ["application:a:status"])
            try await hub.publish("application:a:status")
            try await hub.publish("application:b:status")
            #expect(try await probe.next()["topic"] as? String == "application:b:status")
        }
    }

    @Test func tenantsAreIsolated() async throws {
        try await TestHub.run { hub in
            let acme = try await connect(hub, tenant: "acme")
            let globex = try await connect(hub, sub: "bob", tenant: "globex")
            _ = try await subscribe(acme, ["application:shared:status", "application:*:status"])
            _ = try await subscribe(globex, ["application:shared:status"])
            try await hub.publish("application:shared:status", data: #"{"who":"globex"}"#, tenant: "globex")
            try await hub.publish("application:shared:status", data: #"{"who":"acme"}"#, tenant: "acme")
            let first = try await acme.next()
            #expect((first["data"] as? [String: Any])?["who"] as? String == "acme")
            let second = try await globex.next()
            #expect((second["data"] as? [String: Any])?["who"] as? String == "globex")
        }
    }

    @Test func teamScopeFollowsOwnershipAndFailsClosed() async throws {
        try await TestHub.run { hub in
            try await hub.publish("application:front_app:status", teamID: "frontend")
            try await hub.publish("application:back_app:status", teamID: "backend")
            let dev = try await connect(
                hub, sub: "dev", roles: [RoleGrant(role: "developer", scope: .team("frontend"), permissions: [])])
            let reply = try await subscribe(
                dev,
                ["application:front_app:status", "application:back_app:status", "application:unknown_app:status", "application:*:status"])
            #expect(granted(reply) == ["application:front_app:status"])
            #expect(
                denied(reply) == [
                    "application:back_app:status": "FORBIDDEN", "application:unknown_app:status": "FORBIDDEN",
                    "application:*:status": "FORBIDDEN",
                ])
        }
    }

    @Test func wildcardsNeedTenantScope() async throws {
        try await TestHub.run { hub in
            let probe = try await connect(hub, roles: [RoleGrant(role: "viewer")])
            let reply = try await subscribe(probe, ["operation:*:progress"])
            #expect(granted(reply) == ["operation:*:progress"])
            try await hub.publish("operation:op_9:progress", event: "progress_updated")
            let event = try await probe.next()
            #expect(event["topic"] as? String == "operation:op_9:progress")
        }
    }

    @Test func permissionIsNeededPerFamily() async throws {
        try await TestHub.run { hub in
            let roles = [RoleGrant(role: "custom", permissions: [Permission("operation:read")!])]
            let probe = try await connect(hub, roles: roles)
            let reply = try await subscribe(probe, ["operation:op_1:progress", "application:a:status", "billing:x:status"])
            #expect(granted(reply) == ["operation:op_1:progress"])
            #expect(denied(reply) == ["application:a:status": "FORBIDDEN", "billing:x:status": "FORBIDDEN"])
        }
    }

    @Test func userNotificationsAreOnlyOnesOwn() async throws {
        try await TestHub.run { hub in
            let alice = try await connect(hub, sub: "alice", roles: [])
            let reply = try await subscribe(alice, ["user:notifications", "user:bob:notifications"])
            #expect(granted(reply) == ["user:notifications"])
            #expect(denied(reply) == ["user:bob:notifications": "FORBIDDEN"])
            try await hub.publish("user:bob:notifications", event: "note", data: #"{"for":"bob"}"#)
            try await hub.publish("user:alice:notifications", event: "note", data: #"{"for":"alice"}"#)
            let event = try await alice.next()
            #expect(event["topic"] as? String == "user:notifications")
            #expect((event["data"] as? [String: Any])?["for"] as? String == "alice")
        }
    }

    @Test func sinceRecoversMissedEventsWithoutGapOrDuplicate() async throws {
        try await TestHub.run { hub in
            let topic = "operation:op_456:progress"
            var offsets: [String] = []
            for index in 0..<10 { offsets.append(try await hub.publish(topic, event: "progress_updated", data: #"{"n":\#(index)}"#)) }
            let probe = try await connect(hub)
            let reply = try await subscribe(probe, [topic], extra: ["since": [topic: offsets[3]]])
            let entry = try #require((reply["topics"] as? [[String: Any]])?.first)
            #expect(entry["recovered"] as? Bool == true)
            #expect(entry["offset"] as? String == offsets[9])
            for index in 4..<10 {
                let event = try await probe.next()
                #expect(event["offset"] as? String == offsets[index])
            }
            let live = try await hub.publish(topic, event: "progress_updated")
            #expect(try await probe.next()["offset"] as? String == live)
        }
    }

    @Test func sinceFromAnotherEpochOrTrimmedAsksForResync() async throws {
        try await TestHub.run(configure: { $0.limits.historyLength = 3 }) { hub in
            let topic = "application:app_1:status"
            var offsets: [String] = []
            for _ in 0..<6 { offsets.append(try await hub.publish(topic)) }
            let probe = try await connect(hub)
            let reply = try await subscribe(probe, [topic], extra: ["since": [topic: offsets[0]]])
            let entry = try #require((reply["topics"] as? [[String: Any]])?.first)
            #expect(entry["recovered"] as? Bool == false)
            #expect(entry["resync"] as? Bool == true)
            let other = try await connect(hub, sub: "bob")
            let reply2 = try await subscribe(other, [topic], extra: ["since": [topic: "eold0:3"]])
            #expect((reply2["topics"] as? [[String: Any]])?.first?["resync"] as? Bool == true)
            let third = try await connect(hub, sub: "carol")
            let reply3 = try await subscribe(third, [topic], extra: ["since": [topic: offsets[2]]])
            #expect((reply3["topics"] as? [[String: Any]])?.first?["recovered"] as? Bool == true)
            for index in 3..<6 { #expect(try await third.next()["offset"] as? String == offsets[index]) }
        }
    }

    @Test func snapshotSendsTheLastEvent() async throws {
        try await TestHub.run { hub in
            try await hub.publish("application:app_1:status", data: #"{"status":"deploying"}"#)
            let last = try await hub.publish("application:app_1:status", data: #"{"status":"running"}"#)
            let probe = try await connect(hub)
            _ = try await subscribe(probe, ["application:app_1:status", "application:none:status"], extra: ["snapshot": true])
            let snapshot = try await probe.next()
            #expect(snapshot["type"] as? String == "snapshot")
            #expect(snapshot["offset"] as? String == last)
            #expect((snapshot["data"] as? [String: Any])?["status"] as? String == "running")
            let live = try await hub.publish("application:app_1:status")
            #expect(try await probe.next()["offset"] as? String == live)
        }
    }

    @Test func pingIsAnsweredWithPong() async throws {
        try await TestHub.run { hub in
            let probe = try await connect(hub)
            probe.send(json: ["type": "ping", "id": "3"])
            let pong = try await probe.next()
            #expect(pong["type"] as? String == "pong")
            #expect(pong["id"] as? String == "3")
        }
    }
}
