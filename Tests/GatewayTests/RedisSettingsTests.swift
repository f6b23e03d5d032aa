import Foundation
import Gateway
import Testing

@Suite("Distributed-mode settings")
struct RedisSettingsTests {
    @Test func defaultsAreEmbedded() throws {
        let c = try HubConfiguration.load(file: nil, environment: [:])
        #expect(c.redisURL == nil)
        #expect(c.redisPoolSize == 4)
        #expect(c.topicTTLSeconds == nil)
        #expect(c.ingestTrim)
        #expect(!c.nodeID.isEmpty)
    }

    @Test func yamlThenEnvironment() throws {
        let path = NSTemporaryDirectory() + "hub-redis-\(UUID().uuidString).yaml"
        try """
            redis_url: redis://127.0.0.1:6390/2
            redis_pool_size: 8
            node_id: hub-a
            topic_ttl: 7d
            ingest_trim: false
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let yaml = try HubConfiguration.load(file: path, environment: [:])
        #expect(yaml.redisURL == "redis://127.0.0.1:6390/2")
        #expect(yaml.redisPoolSize == 8)
        #expect(yaml.nodeID == "hub-a")
        #expect(yaml.topicTTLSeconds == 7 * 86_400)
        #expect(!yaml.ingestTrim)
        let env = try HubConfiguration.load(
            file: path,
            environment: [
                "HUB_REDIS_URL": "rediss://user:secret@redis.internal:6380", "HUB_REDIS_POOL_SIZE": "2", "HUB_NODE_ID": "hub-b",
                "HUB_TOPIC_TTL": "0", "HUB_INGEST_TRIM": "true",
            ])
        #expect(env.redisURL == "rediss://user:secret@redis.internal:6380")
        #expect(env.redisPoolSize == 2)
        #expect(env.nodeID == "hub-b")
        #expect(env.topicTTLSeconds == nil, "0 turns expiry off")
        #expect(env.ingestTrim)
        #expect(try HubConfiguration.load(file: nil, environment: ["HUB_TOPIC_TTL": "90m"]).topicTTLSeconds == 5400)
    }

    @Test(arguments: [
        ["HUB_REDIS_URL": "http://127.0.0.1:6379"], ["HUB_REDIS_URL": "redis://"], ["HUB_REDIS_POOL_SIZE": "0"],
        ["HUB_REDIS_POOL_SIZE": "many"], ["HUB_NODE_ID": "has space"], ["HUB_TOPIC_TTL": "soon"], ["HUB_TOPIC_TTL": "-5"],
        ["HUB_INGEST_TRIM": "sometimes"],
    ])
    func badValuesAreRefused(environment: [String: String]) {
        #expect(throws: ConfigurationError.self) { try HubConfiguration.load(file: nil, environment: environment) }
    }
}
