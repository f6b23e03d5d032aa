import Foundation
import Hub
import Logging
import Testing

@testable import Gateway

@Suite("Embedded topic expiry")
struct TopicExpiryWiringTests {
    func server(topicTTLSeconds: Int?) async throws -> HubServer {
        var configuration = HubConfiguration()
        configuration.dataDir = NSTemporaryDirectory() + "hub-test-" + UUID().uuidString
        configuration.auth.jwtSecret = "test-secret-" + UUID().uuidString + UUID().uuidString
        configuration.topicTTLSeconds = topicTTLSeconds
        return try await HubServer(configuration: configuration, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    @Test("topic_ttl reaches the in-process bus, and its sweeper runs with the node")
    func withTTL() async throws {
        let server = try await server(topicTTLSeconds: 3600)
        defer { try? FileManager.default.removeItem(atPath: server.configuration.dataDir) }
        let bus = try #require(server.core.bus as? LocalEventBus)
        #expect(bus.topicTTL == .seconds(3600))
        #expect(bus.expirySweepInterval == .seconds(60))
        #expect(server.backends.services.count { $0 is TopicExpirySweeper } == 1)
    }

    @Test("without topic_ttl topics stay and no sweeper runs")
    func withoutTTL() async throws {
        let server = try await server(topicTTLSeconds: nil)
        defer { try? FileManager.default.removeItem(atPath: server.configuration.dataDir) }
        let bus = try #require(server.core.bus as? LocalEventBus)
        #expect(bus.topicTTL == nil)
        #expect(server.backends.services.isEmpty)
    }
}
