import Foundation
import Gateway
import HTTPTypes
import HubTesting
import Operations
import Protocol
import Testing

@Suite("Operations long-poll")
struct OperationLongPollTests {
    /// The hub's own services sleeping on the operations clock (heartbeat monitor, retention sweeper).
    static let serviceSleepers = 2

    @Test func aWaitingGetAnswersWithinMillisecondsOfTheChangeAnd304AtTheDeadline() async throws {
        let clock = ManualClock(now: Date())
        try await TestHub.run(operationsClock: clock) { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let path = "/api/v1/operations/\(id)?wait_seconds=30"
            let waiting = Task { () -> (HTTPResult, ContinuousClock.Instant) in
                let result = try await hub.request(.get, path, token: token, headers: [.ifNoneMatch: "\"1\""])
                return (result, ContinuousClock.now)
            }
            await clock.waitForSleepers(Self.serviceSleepers + 1)
            let patched = try await hub.patchOperation(id, #"{"status":"in_progress"}"#)
            let changedAt = ContinuousClock.now
            let (answer, answeredAt) = try await withTimeout(5, "the long-poll answer") { try await waiting.value }
            #expect(patched.status == 200)
            #expect(answer.status == 200)
            #expect(answer.data["version"] as? Int == 2)
            #expect(answer.headers[.eTag] == "\"2\"")
            // Typically a few milliseconds; the bound leaves room for a loaded machine running every suite in parallel.
            #expect(answeredAt - changedAt < .seconds(1), "woke \(answeredAt - changedAt) after the change")

            // Nothing changes: 304 when the (manual) deadline passes.
            let unchanged = Task { try await hub.request(.get, path, token: token, headers: [.ifNoneMatch: "\"2\""]) }
            await clock.waitForSleepers(Self.serviceSleepers + 1)
            clock.advance(by: 30)
            let timedOut = try await withTimeout(5, "the long-poll deadline") { try await unchanged.value }
            #expect(timedOut.status == 304)
            #expect(timedOut.headers[.eTag] == "\"2\"")
            #expect(timedOut.headers[.retryAfter] != nil)
        }
    }

    @Test func manyWaitersCostNoThreadAndAllWakeOnOneChange() async throws {
        let clock = ManualClock(now: Date())
        try await TestHub.run(operationsClock: clock) { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let waiters = 64
            let answers = Task {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<waiters {
                        group.addTask {
                            let result = try await hub.request(
                                .get, "/api/v1/operations/\(id)?wait_seconds=60", token: token, headers: [.ifNoneMatch: "\"1\""])
                            return result.data["version"] as? Int ?? -result.status
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            // Every waiter is parked (one sleeping deadline each) on a 2-core machine: no thread per waiter.
            await clock.waitForSleepers(Self.serviceSleepers + waiters)
            _ = try await hub.patchOperation(id, #"{"message":"go"}"#)
            let versions = try await withTimeout(10, "every long-poll to answer") { try await answers.value }
            #expect(versions == Array(repeating: 2, count: waiters))
        }
    }

    @Test func realDeadlineWaitLimitAndPlainGets() async throws {
        try await TestHub.run(configure: { $0.operations.maxWaitSeconds = 1 }) { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let start = ContinuousClock.now
            let atLimit = try await hub.request(.get, "/api/v1/operations/\(id)?wait_seconds=1", token: token, headers: [.ifNoneMatch: "\"1\""])
            let elapsed = ContinuousClock.now - start
            #expect(atLimit.status == 304)
            #expect(elapsed >= .milliseconds(900))
            #expect(elapsed < .seconds(5))
            let over = try await hub.request(.get, "/api/v1/operations/\(id)?wait_seconds=2", token: token, headers: [.ifNoneMatch: "\"1\""])
            #expect(over.status == 400)
            #expect(over.errorCode == "VALIDATION_ERROR")
            #expect(try await hub.request(.get, "/api/v1/operations/\(id)?wait_seconds=-1", token: token).status == 400)
            #expect(try await hub.request(.get, "/api/v1/operations/\(id)?wait_seconds=abc", token: token).status == 400)
            // A stale If-None-Match answers at once; without one, wait_seconds changes nothing.
            _ = try await hub.patchOperation(id, #"{"message":"m"}"#)
            let stale = try await hub.request(.get, "/api/v1/operations/\(id)?wait_seconds=1", token: token, headers: [.ifNoneMatch: "\"1\""])
            #expect(stale.status == 200)
            #expect(try await hub.request(.get, "/api/v1/operations/\(id)?wait_seconds=1", token: token).status == 200)
        }
    }

    @Test func theDefaultWaitLimitIsSixty() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let over = try await hub.request(.get, "/api/v1/operations/\(id)?wait_seconds=61", token: token, headers: [.ifNoneMatch: "\"1\""])
            #expect(over.status == 400)
            let details = (over.json["error"] as? [String: Any])?["details"] as? [String: Any]
            #expect(details?["max"] as? Int == 60)
        }
    }
}
