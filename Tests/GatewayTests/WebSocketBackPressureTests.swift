import Foundation
import Gateway
import HTTPTypes
import Hub
import HubTesting
import Testing

@Suite("WebSocket back-pressure")
struct WebSocketBackPressureTests {
    /// Event frames are written to the socket at once while it takes them,
    /// queued in the session while it does not, and written again at once
    /// only after the queue has drained: a reader that stalls and resumes
    /// gets every event, in order, none twice.
    @Test func aStalledReaderGetsEveryEventInOrderWhenItResumes() async throws {
        try await TestHub.run(configure: { $0.limits.sendQueueLength = 4096 }) { hub in
            let topic = "application:big:status"
            let probe = try await connect(hub)
            _ = try await subscribe(probe, [topic])
            await probe.pauseReading()
            let count = 200  // 12 MB: far more than the socket buffers hold
            try await publishBlobs(hub, topic: topic, count: count)
            await probe.resumeReading()
            var received: [Int] = []
            while received.count < count {
                let frame = try await probe.next(type: "event", timeout: 30)
                received.append((frame["data"] as? [String: Any])?["n"] as? Int ?? -1)
            }
            #expect(received == Array(0..<count))
            // Live again: the next event arrives on its own, right behind the backlog.
            let token = try await hub.token(sub: "publisher")
            let small = #"{"topic":"\#(topic)","event":"small","data":{"n":\#(count)}}"#
            let result = try await hub.request(.post, "/api/v1/events", token: token, json: small)
            #expect(result.status == 200)
            let next = try await probe.next(type: "event")
            #expect((next["data"] as? [String: Any])?["n"] as? Int == count)
        }
    }
}

/// Publishes `count` events of 60 KB to `topic` in batches of 10; event `i` has `data.n == i`.
func publishBlobs(_ hub: TestHub, topic: String, count: Int) async throws {
    let pad = String(repeating: "x", count: 60_000)
    let token = try await hub.token(sub: "publisher")
    for chunk in stride(from: 0, to: count, by: 10) {
        let events = (chunk..<min(chunk + 10, count)).map { #"{"topic":"\#(topic)","event":"blob","data":{"n":\#($0),"pad":"\#(pad)"}}"# }
        let result = try await hub.request(.post, "/api/v1/events", token: token, json: #"{"events":["# + events.joined(separator: ",") + "]}")
        #expect(result.status == 200)
    }
}
