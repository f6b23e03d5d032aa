import Foundation
import Gateway
import HTTPTypes
import HubTesting
import Logging
import Protocol
import Redis
import Testing

/// Three hub processes sharing one redis-server, all on loopback.
struct Cluster: Sendable {
    let redis: RedisServer
    let nodes: [HubNode]
    let secret: String

    /// `redisArguments` are appended to the server's command line (e.g. to turn persistence on).
    static func run<T: Sendable>(
        nodes count: Int = 3, redisArguments: [String] = [], environment: [String: String] = [:],
        _ body: @Sendable (Cluster) async throws -> T
    ) async throws -> T {
        try await withRedisServer(arguments: redisArguments) { redis in
            let secret = "cluster-secret-" + UUID().uuidString + UUID().uuidString
            var nodes: [HubNode] = []
            do {
                for index in 0..<count {
                    nodes.append(
                        try await HubNode.start(environment: [
                            "HUB_REDIS_URL": redis.url, "HUB_JWT_SECRET": secret, "HUB_NODE_ID": "node\(index)",
                            "HUB_DATA_DIR": NSTemporaryDirectory() + "hub-node-" + UUID().uuidString, "HUB_DRAIN_SECONDS": "1",
                        ].merging(environment) { $1 }))
                }
            } catch {
                for node in nodes { await node.kill() }
                throw error
            }
            let cluster = Cluster(redis: redis, nodes: nodes, secret: secret)
            let result: Result<T, any Error>
            do {
                result = .success(try await body(cluster))
            } catch {
                result = .failure(error)
            }
            for node in nodes where !node.child.hasExited { await node.kill() }
            return try result.get()
        }
    }

    func token(sub: String = "alice", tenant: String = "acme", roles: [RoleGrant] = [RoleGrant(role: "admin")]) async throws -> String {
        let signer = await TokenSigner(secret: secret)
        return try await signer.sign(subject: sub, tenant: tenant, roles: roles, ttl: 3600)
    }

    /// A connection of its own to the cluster's Redis (close it when done).
    func admin() async throws -> RedisConnection {
        try await RedisConnection.connect(
            configuration: try RedisConfiguration(url: redis.url), logger: Logger(label: "admin") { _ in SwiftLogNoOpLogHandler() })
    }

    /// Publishes through `node`; returns the event's offset.
    @discardableResult
    func publish(on node: HubNode, _ topic: String, data: String) async throws -> String {
        let result = try await node.request(
            .post, "/api/v1/events", token: try await token(sub: "publisher"),
            json: #"{"topic":"\#(topic)","event":"status_changed","data":\#(data)}"#)
        guard result.status == 200, let events = result.data["events"] as? [[String: Any]], let offset = events.first?["offset"] as? String
        else { throw ProbeError("publish on :\(node.port) failed: \(result.status) \(result.text)") }
        return offset
    }

    /// A WebSocket on `node`, past `welcome`, subscribed to `topics` (with `since`).
    func subscriber(on node: HubNode, _ topics: [String], since: [String: String] = [:]) async throws -> (WSProbe, [String: Any]) {
        let probe = WSProbe(url: node.wsURL + "?token=" + (try await token()))
        _ = try await probe.next(type: "welcome", timeout: 20)
        var message: [String: Any] = ["type": "subscribe", "id": "s", "topics": topics]
        if !since.isEmpty { message["since"] = since }
        probe.send(json: message)
        return (probe, try await probe.next(type: "subscribed", timeout: 20))
    }
}

/// Repeats `condition` (each try a real request to a node) until it holds;
/// fails after `timeout`. For states a test cannot be told about otherwise
/// (a node noticing that Redis went away): no sleep, the requests are the wait.
func eventually(
    _ timeout: Double = 20, _ what: String, _ condition: @escaping @Sendable () async throws -> Bool
) async throws {
    try await withTimeout(timeout, what) {
        while try await !condition() {
            try Task.checkCancellation()
            await Task.yield()
        }
    }
}

/// The `data.n` and `offset` of an event frame.
func numbered(_ frame: [String: Any]) -> (n: Int, offset: String)? {
    guard frame["type"] as? String == "event", let offset = frame["offset"] as? String,
        let n = (frame["data"] as? [String: Any])?["n"] as? Int
    else { return nil }
    return (n, offset)
}
