import Foundation
import Gateway
import HTTPTypes
import Hub
import HubTesting
import Protocol
import Testing

func errorCode(_ frame: [String: Any]) -> String? {
    (frame["error"] as? [String: Any])?["code"] as? String
}

@Suite("WebSocket limits and bad frames")
struct WebSocketLimitsTests {
    @Test(arguments: [
        ("not json", "INVALID_JSON"), ("{", "INVALID_JSON"), ("[1,2]", "INVALID_MESSAGE"), ("\"x\"", "INVALID_MESSAGE"),
        ("{}", "INVALID_MESSAGE"), (#"{"type":"subscribe"}"#, "INVALID_MESSAGE"),
        (#"{"type":"subscribe","topics":"a"}"#, "INVALID_MESSAGE"), (#"{"type":"subscribe","topics":[]}"#, "INVALID_MESSAGE"),
        (#"{"type":"auth"}"#, "INVALID_MESSAGE"), (#"{"type":"launch","id":"9"}"#, "UNKNOWN_TYPE"),
        (#"{"type":42}"#, "INVALID_MESSAGE"),
    ])
    func badFramesGetAnErrorAndTheConnectionStays(frame: String, code: String) async throws {
        try await TestHub.run { hub in
            let probe = try await connect(hub)
            probe.send(frame)
            let reply = try await probe.next()
            #expect(reply["type"] as? String == "error")
            #expect(errorCode(reply) == code)
            probe.send(json: ["type": "ping", "id": "after"])
            #expect(try await probe.next()["id"] as? String == "after")
        }
    }

    @Test func aPeerThatHalfClosesIsClosedAtOnceNotAtTheNextHeartbeat() async throws {
        // Heartbeats far away: only the FIN itself can end the connection within the test's timeout.
        try await TestHub.run(configure: { $0.websocket.heartbeatIntervalSeconds = 3600 }) { hub in
            let probe = WSProbe(url: hub.wsURL + "?token=" + (try await hub.token()))
            _ = try await probe.next(type: "welcome")
            probe.send(json: ["type": "subscribe", "id": "s", "topics": ["application:app_fin:status"]])
            _ = try await probe.next(type: "subscribed")
            #expect(hub.server.core.registry.count == 1)
            probe.halfClose()
            // The hub closes its side: the probe's reads end (no close frame: nil).
            #expect(try await probe.closed(timeout: 10) == nil)
            try await withTimeout(10, "the session to be gone") {
                while hub.server.core.registry.count != 0 { await Task.yield() }
            }
        }
    }

    @Test func unknownTypeCarriesTheIDBack() async throws {
        try await TestHub.run { hub in
            let probe = try await connect(hub)
            probe.send(#"{"type":"launch","id":"9"}"#)
            #expect(try await probe.next()["id"] as? String == "9")
        }
    }

    @Test func binaryFramesAreRefused() async throws {
        try await TestHub.run { hub in
            let probe = try await connect(hub)
            probe.send(binary: Array(#"{"type":"ping"}"#.utf8))
            #expect(errorCode(try await probe.next()) == "INVALID_MESSAGE")
        }
    }

    @Test func aFrameHeaderOverTheTransportLimitCloses1009() async throws {
        try await TestHub.run(configure: { $0.limits.maxMessageBytes = 1024 }) { hub in
            let probe = try await connect(hub)
            // A masked text frame that announces 1 MiB: refused from its header, before any payload.
            var header: [UInt8] = [0x81, 0x80 | 127]
            header += withUnsafeBytes(of: UInt64(1 << 20).bigEndian, Array.init)
            header += [1, 2, 3, 4]
            probe.send(raw: header)
            #expect(try await probe.closed() == 1009)
        }
    }

    @Test(arguments: [
        ("unmasked", [0x81, 0x02] + Array("{}".utf8)),
        ("RSV1 set", [0xC1, 0x82, 1, 2, 3, 4, 0x7A ^ 1, 0x7D ^ 2]),
        ("fragmented ping", [0x09, 0x80, 1, 2, 3, 4]),
        ("continuation without a start", [0x80, 0x80, 1, 2, 3, 4]),
        ("reserved opcode", [0x83, 0x80, 1, 2, 3, 4]),
    ] as [(String, [UInt8])])
    func malformedFramesClose1002(name: String, bytes: [UInt8]) async throws {
        try await TestHub.run { hub in
            let probe = try await connect(hub)
            probe.send(raw: bytes)
            #expect(try await probe.closed() == 1002, "\(name)")
        }
    }

    @Test func frameOverTheLimitGetsMessageTooLargeThen1009() async throws {
        try await TestHub.run(configure: { $0.limits.maxMessageBytes = 1024 }) { hub in
            let probe = try await connect(hub)
            let prefix = #"{"type":"ping","id":"x","pad":""#
            let atLimit = prefix + String(repeating: "a", count: 1024 - prefix.utf8.count - 2) + "\"}"
            #expect(atLimit.utf8.count == 1024)
            probe.send(atLimit)
            #expect(try await probe.next()["type"] as? String == "pong")
            probe.send(#"{"type":"ping","pad":""# + String(repeating: "a", count: 1100) + "\"}")
            #expect(errorCode(try await probe.next()) == "MESSAGE_TOO_LARGE")
            #expect(try await probe.closed() == 1009)
        }
    }

    @Test func frameRateLimit() async throws {
        try await TestHub.run(configure: { $0.limits.maxFramesPerSecond = 5; $0.limits.maxInvalidFrames = 100 }) { hub in
            let probe = try await connect(hub)
            for index in 0..<8 { probe.send(json: ["type": "ping", "id": "\(index)"]) }
            var pongs = 0
            var limited = 0
            for _ in 0..<8 {
                let frame = try await probe.next()
                if frame["type"] as? String == "pong" { pongs += 1 }
                if errorCode(frame) == "RATE_LIMITED" { limited += 1 }
            }
            #expect(pongs >= 5)
            #expect(limited >= 1)
            #expect(pongs + limited == 8)
        }
    }

    @Test func tooManyInvalidFramesClose4029() async throws {
        try await TestHub.run(configure: { $0.limits.maxInvalidFrames = 3 }) { hub in
            let probe = try await connect(hub)
            for _ in 0..<4 { probe.send("nope") }
            for _ in 0..<3 { #expect(errorCode(try await probe.next()) == "INVALID_JSON") }
            #expect(errorCode(try await probe.next()) == "INVALID_JSON")
            #expect(try await probe.closed() == 4029)
        }
    }

    @Test func subscriptionsPerConnectionLimit() async throws {
        try await TestHub.run(configure: { $0.limits.maxSubscriptionsPerConnection = 3 }) { hub in
            let probe = try await connect(hub)
            let first = try await subscribe(probe, ["application:a:status", "application:b:status"])
            #expect(granted(first).count == 2)
            let second = try await subscribe(probe, ["application:c:status", "application:d:status", "application:a:status"], id: "2")
            #expect(Set(granted(second)) == ["application:c:status", "application:a:status"])
            #expect(denied(second) == ["application:d:status": "TOO_MANY_SUBSCRIPTIONS"])
        }
    }

    @Test func slowConsumerIsClosedWith4008() async throws {
        try await TestHub.run(configure: { $0.limits.sendQueueLength = 8 }) { hub in
            let probe = try await connect(hub)
            _ = try await subscribe(probe, ["application:big:status"])
            await probe.pauseReading()
            try await publishBlobs(hub, topic: "application:big:status", count: 200)
            await probe.resumeReading()
            let code = try await withTimeout(30, "the slow-consumer close") {
                while (try? await probe.nextRaw(timeout: 30)) != nil {}
                return try await probe.closed()
            }
            #expect(code == 4008)
        }
    }

    @Test func twoHundredConnectionsReceiveAThousandEventsInOrder() async throws {
        try await TestHub.run(configure: { $0.limits.maxConnectionsPerUser = 500; $0.limits.sendQueueLength = 4096 }) { hub in
            let topic = "application:load:status"
            var probes: [WSProbe] = []
            for _ in 0..<200 {
                let probe = try await connect(hub)
                _ = try await subscribe(probe, [topic])
                probes.append(probe)
            }
            let token = try await hub.token(sub: "publisher")
            for batch in 0..<10 {
                let events = (0..<100).map { #"{"topic":"\#(topic)","event":"tick","data":{"n":\#(batch * 100 + $0)}}"# }
                let result = try await hub.request(.post, "/api/v1/events", token: token, json: #"{"events":["# + events.joined(separator: ",") + "]}")
                #expect(result.status == 200)
            }
            try await withThrowingTaskGroup(of: Int.self) { group in
                for probe in probes {
                    group.addTask {
                        var expected = 0
                        while expected < 1000 {
                            let frame = try await probe.next(timeout: 60)
                            guard let n = (frame["data"] as? [String: Any])?["n"] as? Int else { continue }
                            guard n == expected else { throw ProbeError("expected \(expected), got \(n)") }
                            expected += 1
                        }
                        return expected
                    }
                }
                var total = 0
                for try await received in group { total += received }
                #expect(total == 200 * 1000)
            }
        }
    }
}
