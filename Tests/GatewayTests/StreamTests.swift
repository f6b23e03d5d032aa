import Foundation
import Gateway
import HTTPTypes
import Hub
import HubTesting
import Protocol
import Testing

@Suite("Server-Sent Events")
struct StreamTests {
    @Test func aClosedSessionEndsTheResponse() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let probe = SSEProbe(port: hub.port, path: "/api/v1/stream?topics=application:end:status&token=\(token)")
            #expect(try await probe.next().event == "subscribed")
            hub.server.core.registry.drain()
            #expect(try await probe.next().event == "reconnect")
            // The response ends (its last chunk arrives): not a timeout.
            do {
                let extra = try await probe.next(timeout: 10)
                Issue.record("unexpected message after reconnect: \(extra.data)")
            } catch let error as ProbeError {
                #expect(error.description.contains("stream ended"))
            }
        }
    }

    @Test func streamDeliversEventsWithResumableIDs() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let topic = "application:sse:status"
            let first = try await hub.publish(topic, data: #"{"n":1}"#)
            let probe = SSEProbe(port: hub.port, path: "/api/v1/stream?topics=\(topic)&token=\(token)")
            let head = try await probe.head()
            #expect(head.hasPrefix("HTTP/1.1 200"))
            #expect(head.lowercased().contains("content-type: text/event-stream"))
            #expect(head.lowercased().contains("cache-control: no-cache"))
            #expect(head.lowercased().contains("x-accel-buffering: no"))
            let subscribed = try await probe.next()
            #expect(subscribed.event == "subscribed")
            let second = try await hub.publish(topic, data: #"{"n":2}"#)
            let event = try await probe.next()
            #expect(event.id == "\(topic)@\(second)")
            #expect((event.json["data"] as? [String: Any])?["n"] as? Int == 2)
            probe.cancel()

            let third = try await hub.publish(topic, data: #"{"n":3}"#)
            let resumed = SSEProbe(
                port: hub.port, path: "/api/v1/stream?topics=\(topic)", headers: [("Authorization", "Bearer \(token)"), ("Last-Event-ID", "\(topic)@\(first)")])
            _ = try await resumed.next()
            #expect(try await resumed.next().id == "\(topic)@\(second)")
            #expect(try await resumed.next().id == "\(topic)@\(third)")
        }
    }

    @Test func streamNeedsCredentialsAndTopics() async throws {
        try await TestHub.run { hub in
            let anonymous = try await hub.request(.get, "/api/v1/stream?topics=application:a:status")
            #expect(anonymous.status == 401)
            let token = try await hub.token()
            let noTopics = try await hub.request(.get, "/api/v1/stream", token: token)
            #expect(noTopics.status == 400)
        }
    }
}

@Suite("WebSocket transport")
struct WebSocketTransportTests {
    @Test func deadPeerIsClosedAfterMissedHeartbeats() async throws {
        try await TestHub.run(configure: { $0.websocket.heartbeatIntervalSeconds = 1 }) { hub in
            let probe = WSProbe(url: hub.wsURL + "?token=" + (try await hub.token()), answerPings: false)
            _ = try await probe.next(type: "welcome")
            // The first ping comes within one interval, the close (1001) at the next.
            let code = try await probe.closed(timeout: 10)
            #expect(code == 1001)
        }
    }

    @Test func aPeerThatAnswersIsPingedEveryIntervalAndStays() async throws {
        try await TestHub.run(configure: { $0.websocket.heartbeatIntervalSeconds = 1 }) { hub in
            let probe = WSProbe(url: hub.wsURL + "?token=" + (try await hub.token()))
            _ = try await probe.next(type: "welcome")
            // Three pings: past the two intervals after which a silent peer is closed.
            for _ in 0..<3 { try await probe.nextPing(timeout: 5) }
            probe.send(json: ["type": "ping", "id": "alive"])
            let pong = try await probe.next(type: "pong")
            #expect(pong["id"] as? String == "alive")
        }
    }

    @Test(arguments: [true, false])
    func permessageDeflateIsNegotiatedOnlyWhenEnabled(enabled: Bool) async throws {
        try await TestHub.run(configure: { $0.websocket.compression = enabled }) { hub in
            let probe = WSProbe(
                url: hub.wsURL + "?token=" + (try await hub.token()), headers: [.secWebSocketExtensions: "permessage-deflate"])
            let head = try await probe.handshake().lowercased()
            #expect(head.contains("sec-websocket-extensions: permessage-deflate") == enabled)
        }
    }
}
