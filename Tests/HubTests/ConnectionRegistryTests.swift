import Foundation
import NIOCore
import Protocol
import Testing

@testable import Hub

@Suite("ConnectionRegistry")
struct ConnectionRegistryTests {
    func makeRegistry(maxConnectionsPerUser: Int = 100, metrics: HubMetrics = .discarding) -> ConnectionRegistry {
        var limits = HubLimits()
        limits.maxConnectionsPerUser = maxConnectionsPerUser
        return ConnectionRegistry(limits: limits, metrics: metrics)
    }

    @Test("per-user limit L: L registrations succeed, the next throws, one unregistered frees a slot")
    func perUserLimit() throws {
        let metrics = RecordingMetrics()
        let limit = 3
        let registry = makeRegistry(maxConnectionsPerUser: limit, metrics: metrics.hubMetrics)
        let alice = identity("alice")
        var sessions: [Session] = []
        for _ in 0..<limit { sessions.append(try registry.register(alice)) }
        #expect(registry.count == limit)
        #expect(metrics.meter("hub_connections") == Double(limit))

        #expect(throws: ConnectionRegistry.RegistrationError.tooManyConnections(limit: limit)) {
            try registry.register(alice)
        }
        // Other users are not affected: another subject, or the same subject in another tenant.
        let bob = try registry.register(identity("bob"))
        let otherAlice = try registry.register(identity("alice", tenant: "globex"))
        #expect(registry.count == limit + 2)

        registry.unregister(sessions[0])
        #expect(metrics.meter("hub_connections") == Double(limit + 1))
        // Unregistering twice frees one slot, not two.
        registry.unregister(sessions[0])
        #expect(registry.count == limit + 1)
        sessions.append(try registry.register(alice))
        #expect(throws: ConnectionRegistry.RegistrationError.tooManyConnections(limit: limit)) {
            try registry.register(alice)
        }
        registry.unregister(bob)
        registry.unregister(otherAlice)
        #expect(registry.count == limit)
        #expect(metrics.meter("hub_connections") == Double(limit))
    }

    @Test("sessions get distinct ids and connection ids, and the registration's identity")
    func identities() throws {
        let registry = makeRegistry()
        let sessions = try (0..<20).map { _ in try registry.register(identity("alice")) }
        #expect(Set(sessions.map(\.id)).count == sessions.count)
        #expect(Set(sessions.map(\.connectionID)).count == sessions.count)
        #expect(sessions.allSatisfy { $0.connectionID.hasPrefix("c_") })
        #expect(sessions.allSatisfy { $0.identity.subject == "alice" && $0.identity.tenant == "acme" })
        #expect(sessions.allSatisfy { $0.queueLimit == HubLimits().sendQueueLength })
    }

    @Test("drain(): every session's next output is close 1012 with a reconnect frame; new registrations refused")
    func drain() async throws {
        let registry = makeRegistry()
        let waiting = try registry.register(identity("alice"))
        let idle = try registry.register(identity("bob"))
        let reader = Task { await waiting.next() }
        try await waitUntilWaiting(waiting)
        #expect(!registry.isDraining)

        registry.drain()

        #expect(registry.isDraining)
        #expect(throws: ConnectionRegistry.RegistrationError.draining) { try registry.register(identity("carol")) }

        let woken = try await withTimeout { await reader.value }
        guard case .close(let first) = woken else {
            Issue.record("expected close, got \(String(describing: woken))")
            return
        }
        let second = try await nextClose(idle)
        for request in [first, second] {
            #expect(request.code == .serviceRestart)
            #expect(request.code.rawValue == 1012)
            let final = try json(try #require(request.finalFrame))
            #expect(final == ["type": "reconnect", "reason": "server_shutdown"])
        }
        #expect(try await nextOutput(waiting) == nil)
        #expect(try await nextOutput(idle) == nil)
    }

    @Test("closeExpired(now:) closes only expired sessions, with 4001 and a TOKEN_EXPIRED frame")
    func closeExpired() async throws {
        let registry = makeRegistry()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let expired = try registry.register(identity("alice", expiresAt: now.addingTimeInterval(-10)))
        let expiredToo = try registry.register(identity("bob", expiresAt: now.addingTimeInterval(-3600)))
        let valid = try registry.register(identity("carol", expiresAt: now.addingTimeInterval(600)))
        let noExpiry = try registry.register(identity("dave"))

        #expect(registry.closeExpired(now: now) == 2)

        for session in [expired, expiredToo] {
            #expect(session.isClosing)
            let close = try await nextClose(session)
            #expect(close.code == .unauthorized)
            #expect(close.code.rawValue == 4001)
            let final = try json(try #require(close.finalFrame))
            #expect(final["type"]?.stringValue == "error")
            #expect(final["error"]?["code"]?.stringValue == "TOKEN_EXPIRED")
        }
        for session in [valid, noExpiry] {
            #expect(!session.isClosing)
            try await expectNothingQueued(session)
        }

        // Once the closed sessions are gone, a renewed identity is no longer expired.
        registry.unregister(expired)
        registry.unregister(expiredToo)
        valid.replaceIdentity(identity("carol", expiresAt: now.addingTimeInterval(7200)))
        #expect(registry.closeExpired(now: now.addingTimeInterval(3600)) == 0)
        #expect(!valid.isClosing)
    }
}
