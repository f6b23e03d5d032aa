import Foundation
import Gateway
import HTTPTypes
import HubTesting
import Logging
import Protocol
import Redis
import Testing

@Suite("Distributed mode: three hubs on one Redis", .serialized, .timeLimit(.minutes(3)))
struct DistributedTests {
    @Test func anEventPublishedOnAnyNodeReachesEverySubscriberOnEveryNodeInOrder() async throws {
        try await Cluster.run { cluster in
            let topic = "application:fleet:status"
            var probes: [WSProbe] = []
            for node in cluster.nodes {
                let (probe, reply) = try await cluster.subscriber(on: node, [topic])
                #expect((reply["denied"] as? [Any])?.isEmpty == true)
                probes.append(probe)
            }
            var offsets: [String] = []
            for n in 1...30 {
                offsets.append(try await cluster.publish(on: cluster.nodes[n % 3], topic, data: #"{"n":\#(n)}"#))
            }
            for probe in probes {
                var seen: [(Int, String)] = []
                while seen.count < 30 {
                    if let event = numbered(try await probe.next(timeout: 20)) { seen.append(event) }
                }
                #expect(seen.map(\.0) == Array(1...30), "in publish order")
                #expect(seen.map(\.1) == offsets, "with the offsets the publishers were given")
            }
        }
    }

    @Test func aClientResumesOnAnotherNodeFromItsOffset() async throws {
        try await Cluster.run { cluster in
            let topic = "operation:op_resume:progress"
            let (first, _) = try await cluster.subscriber(on: cluster.nodes[0], [topic])
            var last = ""
            for n in 1...5 { last = try await cluster.publish(on: cluster.nodes[1], topic, data: #"{"n":\#(n)}"#) }
            var received = 0
            while received < 5 { if numbered(try await first.next(timeout: 20)) != nil { received += 1 } }
            first.close()
            for n in 6...10 { try await cluster.publish(on: cluster.nodes[2], topic, data: #"{"n":\#(n)}"#) }
            let (second, reply) = try await cluster.subscriber(on: cluster.nodes[2], [topic], since: [topic: last])
            let entry = (reply["topics"] as? [[String: Any]])?.first
            #expect(entry?["recovered"] as? Bool == true)
            var resumed: [Int] = []
            while resumed.count < 5 { if let event = numbered(try await second.next(timeout: 20)) { resumed.append(event.n) } }
            #expect(resumed == Array(6...10))
        }
    }

    @Test func anOperationWrittenOnOneNodeIsReadOnAnotherAndWakesItsLongPoll() async throws {
        try await Cluster.run { cluster in
            let token = try await cluster.token()
            let created = try await cluster.nodes[0].request(
                .post, "/api/v1/operations", token: token, json: #"{"type":"deploy","target":{"kind":"application","id":"app_x"}}"#)
            #expect(created.status == 201)
            let id = try #require(created.data["operation_id"] as? String)
            let read = try await cluster.nodes[1].request(.get, "/api/v1/operations/\(id)", token: token)
            #expect(read.status == 200)
            #expect(read.data["version"] as? Int == 1)
            let etag = try #require(read.headers[.eTag])

            // A long-poll on node 2 wakes when node 0 changes the operation.
            let waiter = Task {
                try await cluster.nodes[2].request(
                    .get, "/api/v1/operations/\(id)?wait_seconds=30", token: token, headers: [.ifNoneMatch: etag])
            }
            // The waiter is parked once node 2 counts it (no sleep: its metrics say so).
            try await eventually(20, "the long-poll to be parked on node 2") {
                let metrics = try await cluster.nodes[2].request(.get, "/metrics")
                return metrics.text.contains("hub_operation_waiters 1")
            }
            let patched = try await cluster.nodes[0].request(
                .patch, "/api/v1/operations/\(id)", token: token, json: #"{"status":"in_progress","progress":10}"#)
            #expect(patched.status == 200)
            let woken = try await withTimeout(10, "the long-poll on node 2 to answer") { try await waiter.value }
            #expect(woken.status == 200)
            #expect(woken.data["version"] as? Int == 2)
            #expect(woken.data["progress"] as? Int == 10)
        }
    }

    @Test func ingestedEntriesAreDeliveredOnceThroughAnyNode() async throws {
        try await Cluster.run { cluster in
            let topic = "resource:db_1:health"
            let (probe, _) = try await cluster.subscriber(on: cluster.nodes[1], [topic])
            let admin = try await cluster.admin()
            for n in 1...20 {
                let entry = #"{"tenant":"acme","topic":"\#(topic)","event":"health_check_passed","data":{"n":\#(n)}}"#
                _ = try await admin.send(["XADD", "hub:ingest", "*", "event", RedisArgument(entry)])
            }
            _ = try await admin.send(["XADD", "hub:ingest", "*", "event", "not json"])
            var seen: [Int] = []
            while seen.count < 20 { if let event = numbered(try await probe.next(timeout: 20)) { seen.append(event.n) } }
            #expect(seen == Array(1...20), "each entry once, in order")
            try await eventually(20, "the malformed entry in hub:ingest:dead") {
                try await admin.send(["XLEN", "hub:ingest:dead"]).integer == 1
            }
            await admin.close()
        }
    }

    @Test func topicHistoriesExpireAfterTheConfiguredTTLAndStayWithoutOne() async throws {
        for (ttl, expected) in [("1h", 1...3_600_000), ("0", -1...(-1))] as [(String, ClosedRange<Int64>)] {
            try await Cluster.run(nodes: 1, environment: ["HUB_TOPIC_TTL": ttl]) { cluster in
                try await cluster.publish(on: cluster.nodes[0], "application:app_ttl:status", data: #"{"n":1}"#)
                let admin = try await cluster.admin()
                let stream = try #require(try await admin.send(["PTTL", "hub:{acme}:history:application:app_ttl:status"]).integer)
                let meta = try #require(try await admin.send(["PTTL", "hub:{acme}:topic:application:app_ttl:status"]).integer)
                await admin.close()
                #expect(expected.contains(stream), "HUB_TOPIC_TTL=\(ttl): the stream's PTTL is \(stream)")
                #expect(expected.contains(meta), "HUB_TOPIC_TTL=\(ttl): the topic hash's PTTL is \(meta)")
            }
        }
    }
}
