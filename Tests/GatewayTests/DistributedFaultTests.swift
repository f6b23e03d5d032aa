import Foundation
import Gateway
import HTTPTypes
import HubTesting
import Logging
import Protocol
import Redis
import Testing

@Suite("Distributed mode: faults", .serialized, .timeLimit(.minutes(3)))
struct DistributedFaultTests {
    /// The next event frame (server heartbeats and other frames in between are skipped).
    func nextEvent(_ probe: WSProbe, timeout: Double = 20) async throws -> (n: Int, offset: String) {
        while true {
            let frame = try await probe.next(timeout: timeout)
            if let event = numbered(frame) { return event }
            #expect(frame["type"] as? String != "reconnect", "the session must not be told to reconnect: \(frame)")
        }
    }

    func readiness(_ node: HubNode) async throws -> Int { try await node.request(.get, "/ready").status }

    @Test func redisRestartsWithPersistenceAndEveryNodeCarriesOnWithItsSessions() async throws {
        let dir = NSTemporaryDirectory() + "hub-redis-aof-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await Cluster.run(redisArguments: ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir]) { cluster in
            let topic = "application:app_fault:status"
            var probes: [WSProbe] = []
            for node in cluster.nodes { probes.append(try await cluster.subscriber(on: node, [topic]).0) }
            try await cluster.publish(on: cluster.nodes[0], topic, data: #"{"n":1}"#)
            for probe in probes { #expect(try await nextEvent(probe).n == 1) }

            try await cluster.redis.stop()
            for node in cluster.nodes {
                try await eventually(20, "node :\(node.port) to be unready without Redis") { try await readiness(node) == 503 }
                #expect(try await node.request(.get, "/health").status == 200, "alive without Redis")
            }
            // Refused, never silently dropped.
            let refused = try await cluster.nodes[1].request(
                .post, "/api/v1/events", token: try await cluster.token(sub: "publisher"),
                json: #"{"topic":"\#(topic)","event":"status_changed","data":{"n":99}}"#)
            #expect(refused.status == 503)
            #expect(refused.errorCode == "SERVICE_UNAVAILABLE")

            try await cluster.redis.restart()
            for node in cluster.nodes {
                try await eventually(20, "node :\(node.port) to be ready again") { try await readiness(node) == 200 }
            }
            try await cluster.publish(on: cluster.nodes[2], topic, data: #"{"n":2}"#)
            // The same connections: the next event is 2 (99 was refused, nothing was replayed twice).
            for probe in probes { #expect(try await nextEvent(probe).n == 2) }
        }
    }

    @Test func redisLosesItsDataAndSessionsAreToldToResyncNeverLeftWithAGap() async throws {
        try await Cluster.run { cluster in
            let topic = "application:app_lost:status"
            let (probe, _) = try await cluster.subscriber(on: cluster.nodes[0], [topic])
            let offset = try await cluster.publish(on: cluster.nodes[1], topic, data: #"{"n":1}"#)
            #expect(try await nextEvent(probe).n == 1)

            // No persistence: the restarted Redis has forgotten the topic's history.
            try await cluster.redis.restart()
            let reconnect = try await probe.next(type: "reconnect", timeout: 30)
            #expect(reconnect["reason"] as? String == "events_missed")
            #expect(try await probe.closed(timeout: 10) == 1012)

            try await eventually(20, "node 0 to be ready again") { try await readiness(cluster.nodes[0]) == 200 }
            let (again, reply) = try await cluster.subscriber(on: cluster.nodes[0], [topic], since: [topic: offset])
            let entry = try #require((reply["topics"] as? [[String: Any]])?.first)
            #expect(entry["recovered"] as? Bool == false)
            #expect(entry["resync"] as? Bool == true)
            try await cluster.publish(on: cluster.nodes[1], topic, data: #"{"n":2}"#)
            #expect(try await nextEvent(again).n == 2)
        }
    }

    @Test func aNodeKilledMidStreamItsClientsResumeOnAnotherNodeWithEveryEvent() async throws {
        try await Cluster.run { cluster in
            let topic = "operation:op_kill:progress"
            let (doomed, _) = try await cluster.subscriber(on: cluster.nodes[0], [topic])
            let (bystander, _) = try await cluster.subscriber(on: cluster.nodes[2], [topic])
            var last = ""
            for n in 1...5 {
                try await cluster.publish(on: cluster.nodes[1], topic, data: #"{"n":\#(n)}"#)
                last = try await nextEvent(doomed).offset
                #expect(try await nextEvent(bystander).n == n)
            }

            await cluster.nodes[0].kill()
            _ = try? await doomed.closed(timeout: 10)
            for n in 6...10 { try await cluster.publish(on: cluster.nodes[2], topic, data: #"{"n":\#(n)}"#) }

            // The client comes back through the load balancer to another node.
            let (resumed, reply) = try await cluster.subscriber(on: cluster.nodes[1], [topic], since: [topic: last])
            #expect((reply["topics"] as? [[String: Any]])?.first?["recovered"] as? Bool == true)
            try await cluster.publish(on: cluster.nodes[2], topic, data: #"{"n":11}"#)
            var seen: [Int] = []
            while seen.count < 6 { seen.append(try await nextEvent(resumed).n) }
            #expect(seen == Array(6...11), "every event once, in order")
            for n in 6...11 { #expect(try await nextEvent(bystander).n == n, "the other nodes did not notice") }

            // Ingestion goes on whichever node read it before (a dead leader's lease runs out).
            let admin = try await cluster.admin()
            let entry = #"{"tenant":"acme","topic":"\#(topic)","event":"progress_updated","data":{"n":12}}"#
            _ = try await admin.send(["XADD", "hub:ingest", "*", "event", RedisArgument(entry)])
            #expect(try await nextEvent(resumed).n == 12)
            await admin.close()
        }
    }
}
