import Foundation
import Gateway
import NIOCore
import NIOPosix
import HTTPTypes
import HubTesting
import Operations
import Protocol
import Testing

/// A connection whose first request is a plain long-poll is parked in a
/// channel handler (`LongPollHandler`), answered with `Connection: close`;
/// everything else takes Hummingbird's route, which keeps the connection.
@Suite("Operations long-poll parked on the event loop")
struct OperationParkedLongPollTests {
    static let serviceSleepers = 2

    /// `hub_operation_waiters` as the hub reports it.
    func waiters(_ hub: TestHub) async throws -> Double? {
        let text = try await hub.request(.get, "/metrics").text
        let line = text.split(separator: "\n").first { $0.hasPrefix("hub_operation_waiters ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func aParkedLongPollAnswersLikeTheRouteAndClosesTheConnection() async throws {
        let clock = ManualClock(now: Date())
        try await TestHub.run(operationsClock: clock) { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let path = "/api/v1/operations/\(id)?wait_seconds=30"
            let waiting = Task {
                try await hub.request(.get, path, token: token, headers: [.ifNoneMatch: "\"1\"", .xRequestIDForTests: "poll-1"])
            }
            await clock.waitForSleepers(Self.serviceSleepers + 1)
            #expect(try await waiters(hub) == 1)
            let patched = try await hub.patchOperation(id, #"{"status":"in_progress","progress":5}"#)
            let answer = try await withTimeout(10, "the parked long-poll to answer") { try await waiting.value }
            #expect(answer.status == 200)
            #expect(answer.headers[.connection] == "close", "parked: answered from the channel handler")
            #expect(answer.headers[.eTag] == "\"2\"")
            #expect(answer.headers[.retryAfter] == "2")
            #expect(answer.headers[.xRequestIDForTests] == "poll-1")
            #expect(answer.headers[.contentType] == "application/json; charset=utf-8")
            #expect(answer.json["success"] as? Bool == true)
            #expect((answer.json["meta"] as? [String: Any])?["request_id"] as? String == "poll-1")
            // Counted under the route like any other answer (no other GET of it has been made yet).
            #expect(try await hub.request(.get, "/metrics").text.contains(#"method="GET",route="/api/v1/operations/{id}",status="200""#))
            // The same data as the PATCH's answer and a plain GET's.
            #expect(NSDictionary(dictionary: answer.data) == NSDictionary(dictionary: patched.data))
            let plain = try await hub.request(.get, "/api/v1/operations/\(id)", token: token)
            #expect(plain.headers[.connection] != "close", "a plain GET goes to Hummingbird")
            #expect(NSDictionary(dictionary: plain.data) == NSDictionary(dictionary: answer.data))
            #expect(try await waiters(hub) == 0)

            // Nothing changes: 304 at the deadline of the operations clock.
            let unchanged = Task { try await hub.request(.get, path, token: token, headers: [.ifNoneMatch: "\"2\""]) }
            await clock.waitForSleepers(Self.serviceSleepers + 1)
            clock.advance(by: 30)
            let timedOut = try await withTimeout(10, "the parked deadline") { try await unchanged.value }
            #expect(timedOut.status == 304)
            #expect(timedOut.headers[.eTag] == "\"2\"")
            #expect(timedOut.headers[.connection] == "close")
            #expect(timedOut.body.isEmpty)
        }
    }

    @Test func whatCannotBeParkedGoesToTheRouteUnchanged() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let other = try await hub.token(sub: "eve", tenant: "globex")
            let cases: [(String, String?, HTTPFields, Int)] = [
                ("another tenant's operation", other, [.ifNoneMatch: "\"1\""], 404),
                ("no token", nil, [.ifNoneMatch: "\"1\""], 401),
                ("a bad token", "not-a-jwt", [.ifNoneMatch: "\"1\""], 401),
                ("a stale tag", token, [.ifNoneMatch: "\"7\""], 200),
            ]
            for (what, caller, headers, status) in cases {
                let answer = try await hub.request(.get, "/api/v1/operations/\(id)?wait_seconds=30", token: caller, headers: headers)
                #expect(answer.status == status, "\(what)")
                #expect(answer.headers[.connection] != "close", "\(what): answered by the route")
                #expect(answer.headers[.xRequestIDForTests] != nil, "\(what)")
            }
            let unknown = try await hub.request(
                .get, "/api/v1/operations/op_unknown?wait_seconds=30", token: token, headers: [.ifNoneMatch: "\"1\""])
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "NOT_FOUND")
            let tooLong = try await hub.request(
                .get, "/api/v1/operations/\(id)?wait_seconds=61", token: token, headers: [.ifNoneMatch: "\"1\""])
            #expect(tooLong.status == 400)
        }
    }

    @Test func aClientThatLeavesIsUncountedAndShutdownAnswersTheRest() async throws {
        let clock = ManualClock(now: Date())
        try await TestHub.run(operationsClock: clock) { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let path = "/api/v1/operations/\(id)?wait_seconds=60"
            // A raw client: writes the request, waits until it is parked, hangs up.
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: hub.port) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
            let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nIf-None-Match: \"1\"\r\n\r\n"
            try await channel.channel.writeAndFlush(ByteBuffer(string: request))
            await clock.waitForSleepers(Self.serviceSleepers + 1)
            #expect(try await waiters(hub) == 1)
            try await channel.channel.close()
            try await withTimeout(10, "the parked waiter to be dropped") {
                while try await waiters(hub) != 0 { await Task.yield() }
            }
            // The deadline timer went with it.
            #expect(clock.sleeperCount == Self.serviceSleepers)

            let staying = Task { try await hub.request(.get, path, token: token, headers: [.ifNoneMatch: "\"1\""]) }
            await clock.waitForSleepers(Self.serviceSleepers + 1)
            hub.server.operations.stopWaiters()
            let answer = try await withTimeout(10, "shutdown to answer the parked waiter") { try await staying.value }
            #expect(answer.status == 304)
        }
    }

    @Test func parkingCanBeTurnedOff() async throws {
        let clock = ManualClock(now: Date())
        try await TestHub.run(configure: { $0.operations.parkLongPolls = false }, operationsClock: clock) { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let waiting = Task {
                try await hub.request(.get, "/api/v1/operations/\(id)?wait_seconds=30", token: token, headers: [.ifNoneMatch: "\"1\""])
            }
            await clock.waitForSleepers(Self.serviceSleepers + 1)
            _ = try await hub.patchOperation(id, #"{"message":"m"}"#)
            let answer = try await withTimeout(10, "the long-poll to answer") { try await waiting.value }
            #expect(answer.status == 200)
            #expect(answer.headers[.connection] != "close", "served by the route")
        }
    }
}

extension HTTPField.Name {
    static let xRequestIDForTests = HTTPField.Name("X-Request-ID")!
}
