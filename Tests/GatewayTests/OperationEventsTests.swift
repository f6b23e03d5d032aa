import Foundation
import Gateway
import HTTPTypes
import Hub
import HubTesting
import Operations
import Protocol
import Testing

@Suite("Operations events")
struct OperationEventsTests {
    @Test func readingThenSubscribingFromTheOffsetMissesNothingAndSeesNothingTwice() async throws {
        try await TestHub.run(configure: { $0.limits.historyLength = 1_000 }) { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            _ = try await hub.patchOperation(id, #"{"status":"in_progress"}"#)
            let topic = "operation:\(id):progress"
            let patches = 120
            let final = 3 + patches  // created 1, in_progress 2, the patches, succeeded

            /// Reads over REST, says so, then subscribes with `since` = the offset read,
            /// while the writer goes on patching; returns the version read and the versions seen.
            @Sendable func reader(_ hasRead: AsyncStream<Void>.Continuation) async throws -> (Int, [Int], [String]) {
                let probe = try await connect(hub)
                let read = try await hub.request(.get, "/api/v1/operations/\(id)", token: token)
                hasRead.yield()
                let version = try #require(read.data["version"] as? Int)
                let offset = try #require(read.data["offset"] as? String)
                let reply = try await subscribe(probe, [topic], extra: ["since": [topic: offset]])
                #expect((reply["topics"] as? [[String: Any]])?.first?["recovered"] as? Bool == true, "\(reply)")
                var seen: [Int] = []
                var events: [String] = []
                while version < final {
                    let frame = try await probe.next(type: "event")
                    events.append(frame["event"] as? String ?? "")
                    seen.append(try #require((frame["data"] as? [String: Any])?["version"] as? Int))
                    if events.last == "completed" { break }
                }
                probe.close()
                return (version, seen, events)
            }

            // The writer keeps patching; every 20 patches it starts a reader and
            // goes on as soon as that reader has read (so the subscribe races the patches).
            let writer = Task { () -> [Task<(Int, [Int], [String]), any Error>] in
                var readers: [Task<(Int, [Int], [String]), any Error>] = []
                for step in 1...patches {
                    if step % 20 == 0 {
                        let (hasRead, signal) = AsyncStream.makeStream(of: Void.self)
                        readers.append(Task { try await reader(signal) })
                        var iterator = hasRead.makeAsyncIterator()
                        await iterator.next()
                    }
                    let result = try await hub.patchOperation(id, #"{"message":"step \#(step)","progress":\#(step * 100 / patches)}"#)
                    guard result.status == 200 else { throw ProbeError("patch \(step): \(result.status) \(result.text)") }
                }
                _ = try await hub.patchOperation(id, #"{"status":"succeeded"}"#)
                return readers
            }
            let readers = try await withTimeout(60, "the writer") { try await writer.value }
            var readVersions: [Int] = []
            for task in readers {
                let (version, seen, events) = try await withTimeout(30, "a reader") { try await task.value }
                readVersions.append(version)
                // Every version after the one read, once each and in order; the final one has two events.
                let distinct = seen.reduce(into: [Int]()) { if $0.last != $1 { $0.append($1) } }
                let expected = version < final ? Array((version + 1)...final) : []
                #expect(distinct == expected, "read v\(version), saw \(seen)")
                #expect(seen.count == expected.count + (version < final ? 1 : 0))
                #expect(events.last == (version < final ? "completed" : nil))
            }
            #expect(readers.count == patches / 20)
            #expect(Set(readVersions).count == readers.count, "\(readVersions)")
        }
    }

    @Test func theEventsRouteIsAnSSEStreamOfTheOperationResumableWithLastEventID() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let created = try await hub.createOperation()
            let id = try #require(created["operation_id"] as? String)
            let createdOffset = try #require(created["offset"] as? String)
            let probe = SSEProbe(port: hub.port, path: "/api/v1/operations/\(id)/events?token=\(token)")
            let head = try await probe.head().lowercased()
            #expect(head.hasPrefix("http/1.1 200"))
            #expect(head.contains("content-type: text/event-stream"))
            #expect(head.contains("cache-control: no-cache"))
            #expect(head.contains("x-accel-buffering: no"))
            #expect(try await probe.next().event == "subscribed")
            let started = try await hub.patchOperation(id, #"{"status":"in_progress","progress":5}"#)
            let event = try await probe.next()
            #expect(event.json["event"] as? String == "status_changed")
            #expect(event.id == "operation:\(id):progress@\(started.data["offset"] as? String ?? "")")
            let data = try #require(event.json["data"] as? [String: Any])
            #expect(data["operation_id"] as? String == id)
            #expect(data["status"] as? String == "in_progress")
            #expect(data["progress"] as? Int == 5)
            #expect(data.keys.contains("current_stage") && data.keys.contains("message"))
            probe.cancel()

            _ = try await hub.patchOperation(id, #"{"progress":50}"#)
            let resumed = SSEProbe(
                port: hub.port, path: "/api/v1/operations/\(id)/events",
                headers: [("Authorization", "Bearer \(token)"), ("Last-Event-ID", "operation:\(id):progress@\(createdOffset)")])
            _ = try await resumed.next()
            #expect(try await resumed.next().json["event"] as? String == "status_changed")
            #expect(try await resumed.next().json["event"] as? String == "progress_updated")
            let bad = try await hub.request(.get, "/api/v1/operations/\(id)/events?since=garbage", token: token)
            #expect(bad.status == 400)
        }
    }

    @Test func deploymentsReportOnTheApplicationsTopic() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let probe = try await connect(hub)
            _ = try await subscribe(probe, ["application:app_d:status"])
            let id = try #require(try await hub.createOperation(deployBody(app: "app_d"))["operation_id"] as? String)
            _ = try await hub.patchOperation(id, #"{"status":"in_progress"}"#)
            let started = try await probe.next(type: "event")
            #expect(started["event"] as? String == "deployment_started")
            #expect((started["data"] as? [String: Any])?["operation_id"] as? String == id)
            _ = try await hub.patchOperation(id, #"{"status":"failed","error":{"code":"BUILD_FAILED","message":"exit 1"}}"#)
            let finished = try await probe.next(type: "event")
            #expect(finished["event"] as? String == "deployment_finished")
            let data = try #require(finished["data"] as? [String: Any])
            #expect(data["status"] as? String == "failed")
            #expect((data["error"] as? [String: Any])?["code"] as? String == "BUILD_FAILED")
            let status = try await hub.request(.get, "/api/v1/status/applications/app_d", token: token)
            #expect(status.data["event"] as? String == "deployment_finished")
            // Not a deployment: nothing on an application topic.
            let db = try #require(
                try await hub.createOperation(#"{"type":"create_database","target":{"kind":"application","id":"app_d"}}"#)["operation_id"] as? String)
            _ = try await hub.patchOperation(db, #"{"status":"in_progress"}"#)
            let after = try await hub.request(.get, "/api/v1/status/applications/app_d", token: token)
            #expect(after.data["offset"] as? String == status.data["offset"] as? String)
        }
    }

    @Test func aSilentWorkerIsFailedWithWorkerTimeout() async throws {
        let clock = ManualClock(now: Date())
        try await TestHub.run(operationsClock: clock) { hub in
            let id = try #require(
                try await hub.createOperation(deployBody(extra: #","heartbeat_timeout_seconds":30"#))["operation_id"] as? String)
            #expect(try await hub.createOperation()["heartbeat_timeout_seconds"] is NSNull)
            let probe = try await connect(hub)
            _ = try await subscribe(probe, ["operation:\(id):progress"])
            _ = try await hub.patchOperation(id, #"{"status":"in_progress"}"#)
            _ = try await probe.next(type: "event")
            await clock.waitForSleepers(2)
            clock.advance(by: 20)
            _ = try await hub.patchOperation(id, #"{"status":"in_progress"}"#)  // changes nothing: a heartbeat
            await clock.waitForSleepers(2)
            clock.advance(by: 20)
            await clock.waitForSleepers(2)
            let stillRunning = try await hub.request(.get, "/api/v1/operations/\(id)", token: try await hub.token())
            #expect(stillRunning.data["status"] as? String == "in_progress")
            clock.advance(by: 11)
            let failed = try await probe.next(type: "event")
            #expect(failed["event"] as? String == "status_changed")
            let data = try #require(failed["data"] as? [String: Any])
            #expect(data["status"] as? String == "failed")
            #expect((data["error"] as? [String: Any])?["code"] as? String == "WORKER_TIMEOUT")
            #expect(try await probe.next(type: "event")["event"] as? String == "completed")
            let read = try await hub.request(.get, "/api/v1/operations/\(id)", token: try await hub.token())
            #expect((read.data["error"] as? [String: Any])?["code"] as? String == "WORKER_TIMEOUT")
        }
    }

    @Test func finishedOperationsArePurgedAfterTheRetention() async throws {
        let clock = ManualClock(now: Date())
        try await TestHub.run(
            configure: {
                $0.operations.retentionSeconds = 30
                $0.operations.retentionSweepIntervalSeconds = 1
            }, operationsClock: clock
        ) { hub in
            let token = try await hub.token()
            let done = try #require(try await hub.createOperation()["operation_id"] as? String)
            _ = try await hub.request(.post, "/api/v1/operations/\(done)/cancel", token: token)
            let running = try #require(try await hub.createOperation()["operation_id"] as? String)
            await clock.waitForSleepers(2)
            let gone = Task { try await hub.request(.get, "/api/v1/operations/\(done)?wait_seconds=60", token: token, headers: [.ifNoneMatch: "\"2\""]) }
            await clock.waitForSleepers(3)
            clock.advance(by: 31)  // past the retention, not past the long-poll's deadline
            let answer = try await withTimeout(10, "the purge to end the long-poll") { try await gone.value }
            #expect(answer.status == 404)
            #expect(try await hub.request(.get, "/api/v1/operations/\(running)", token: token).status == 200)
            // The purged operation's topic is forgotten with it; the running one's keeps its history.
            let purged = try await hub.request(.get, "/api/v1/topics/operation:\(done):progress/history", token: token)
            #expect((purged.data["events"] as? [[String: Any]])?.isEmpty == true)
            #expect(purged.data["latest"] == nil)
            let kept = try await hub.request(.get, "/api/v1/topics/operation:\(running):progress/history", token: token)
            #expect((kept.data["events"] as? [[String: Any]])?.isEmpty == false)
        }
    }
}
