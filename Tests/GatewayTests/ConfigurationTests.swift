import Foundation
import Gateway
import Hub
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaultsNeedNothing() throws {
        let configuration = try HubConfiguration.load(file: nil, environment: [:])
        #expect(configuration.server.host == "127.0.0.1")
        #expect(configuration.server.port == 8080)
        #expect(configuration.dataDir == "./.hub")
        #expect(configuration.limits == HubLimits())
    }

    @Test func yamlThenEnvironment() throws {
        let path = NSTemporaryDirectory() + "hub-\(UUID().uuidString).yaml"
        try """
            server:
              port: 9000
              max_body_bytes: 2048
              listen_backlog: 512
              event_loop_threads: 3
            data_dir: /tmp/x
            allowed_origins: [https://a.example]
            limits:
              send_queue_length: 64
              history_length: 10
            websocket:
              compression: true
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try HubConfiguration.load(
            file: path, environment: ["HUB_PORT": "9100", "HUB_HISTORY_LENGTH": "20", "HUB_ALLOWED_ORIGINS": "https://b.example, https://c.example"])
        #expect(configuration.server.port == 9100)
        #expect(configuration.server.maxBodyBytes == 2048)
        #expect(configuration.server.listenBacklog == 512)
        #expect(try HubConfiguration.load(file: nil, environment: [:]).server.listenBacklog == 4096)
        #expect(try HubConfiguration.load(file: nil, environment: ["HUB_LISTEN_BACKLOG": "64"]).server.listenBacklog == 64)
        #expect(configuration.server.eventLoopThreads == 3)
        #expect(try HubConfiguration.load(file: nil, environment: [:]).server.eventLoopThreads == nil)
        #expect(try HubConfiguration.load(file: path, environment: ["HUB_EVENT_LOOP_THREADS": "1"]).server.eventLoopThreads == 1)
        #expect(configuration.dataDir == "/tmp/x")
        #expect(configuration.limits.sendQueueLength == 64)
        #expect(configuration.limits.historyLength == 20)
        #expect(configuration.websocket.compression)
        #expect(configuration.allowedOrigins == ["https://b.example", "https://c.example"])
    }

    @Test(arguments: [
        ["HUB_PORT": "eighty"], ["HUB_PORT": "70000"], ["HUB_SEND_QUEUE_LENGTH": "0"], ["HUB_JWT_SECRET": "short"],
        ["HUB_WS_COMPRESSION": "maybe"], ["HUB_LOG_FORMAT": "xml"],
        ["HUB_LISTEN_BACKLOG": "0"], ["HUB_LISTEN_BACKLOG": "many"],
        ["HUB_EVENT_LOOP_THREADS": "0"], ["HUB_EVENT_LOOP_THREADS": "1025"], ["HUB_EVENT_LOOP_THREADS": "two"],
    ])
    func badValuesAreRefusedWithTheirName(environment: [String: String]) throws {
        #expect(throws: ConfigurationError.self) { try HubConfiguration.load(file: nil, environment: environment) }
    }

    @Test func eventLoopThreadsAcceptOneToTheLimit() throws {
        for threads in [1, 1024] {
            let configuration = try HubConfiguration.load(file: nil, environment: ["HUB_EVENT_LOOP_THREADS": String(threads)])
            #expect(configuration.server.eventLoopThreads == threads)
        }
        #expect(throws: ConfigurationError("server.event_loop_threads must be 1–1024, got 1025")) {
            try HubConfiguration.load(file: nil, environment: ["HUB_EVENT_LOOP_THREADS": "1025"])
        }
    }

    @Test func unreadableOrInvalidFileIsAnError() throws {
        #expect(throws: ConfigurationError.self) { try HubConfiguration.load(file: "/nonexistent/hub.yaml", environment: [:]) }
        let path = NSTemporaryDirectory() + "bad-\(UUID().uuidString).yaml"
        try "server: [1, 2".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try HubConfiguration.load(file: path, environment: [:]) }
    }
}
