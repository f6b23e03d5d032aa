import Foundation
import Gateway
import HTTPTypes
import HubTesting
import Operations
import NIOCore
import NIOPosix
import Protocol
import Testing

/// One NDJSON line as received.
struct NDJSONLine: Sendable {
    let raw: Data

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: raw)) as? [String: Any] ?? ["type": "unparseable"] }
    subscript(key: String) -> Any? { json[key] }
}

/// A streaming client for `logs?follow=true`: yields each NDJSON line as it arrives.
final class NDJSONProbe: Sendable {
    let head: AsyncStream<String>
    let lines: AsyncStream<NDJSONLine>
    private let task: Task<Void, any Error>

    init(port: Int, path: String, token: String) {
        let (lines, lineContinuation) = AsyncStream.makeStream(of: NDJSONLine.self)
        let (head, headContinuation) = AsyncStream.makeStream(of: String.self)
        self.lines = lines
        self.head = head
        // An unstructured task holds the connection for the probe's lifetime.
        task = Task {
            defer {
                lineContinuation.finish()
                headContinuation.finish()
            }
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n"))
                var raw: [UInt8] = []
                var body: [UInt8] = []
                var headDone = false
                for try await var chunk in inbound {
                    raw += chunk.readBytes(length: chunk.readableBytes) ?? []
                    if !headDone {
                        guard let end = raw.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                        headContinuation.yield(String(decoding: raw[..<end.lowerBound], as: UTF8.self))
                        raw.removeSubrange(..<end.upperBound)
                        headDone = true
                    }
                    // Chunked transfer encoding; a zero-size chunk ends the body.
                    var ended = false
                    while !ended, let line = raw.firstRange(of: Array("\r\n".utf8)) {
                        guard let size = Int(String(decoding: raw[..<line.lowerBound], as: UTF8.self), radix: 16) else { return }
                        guard raw.count >= line.upperBound + size + 2 else { break }
                        body += raw[line.upperBound..<line.upperBound + size]
                        raw.removeSubrange(..<(line.upperBound + size + 2))
                        ended = size == 0
                    }
                    while let newline = body.firstIndex(of: UInt8(ascii: "\n")) {
                        let text = Data(body[..<newline])
                        body.removeSubrange(...newline)
                        lineContinuation.yield(NDJSONLine(raw: text))
                    }
                    if ended { return }
                }
            }
        }
    }

    func responseHead() async throws -> String {
        let head = self.head
        return try await withTimeout(10, "the response head") {
            var it = head.makeAsyncIterator()
            guard let value = await it.next() else { throw ProbeError("no response") }
            return value
        }
    }

    /// Collects lines until one of `type`, within the timeout.
    func lines(until type: String, timeout: Double = 10) async throws -> [NDJSONLine] {
        let lines = self.lines
        return try await withTimeout(timeout, "an NDJSON \(type) line") {
            var collected: [NDJSONLine] = []
            for await line in lines {
                collected.append(line)
                if line["type"] as? String == type { return collected }
            }
            throw ProbeError("stream ended before \(type): \(collected.map { String(decoding: $0.raw, as: UTF8.self) })")
        }
    }

    deinit { task.cancel() }
}

@Suite("Operations logs")
struct OperationLogsTests {
    func append(_ hub: TestHub, _ id: String, _ lines: [String]) async throws -> HTTPResult {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: ["lines": lines]), as: UTF8.self)
        return try await hub.request(.post, "/api/v1/operations/\(id)/logs", token: try await hub.token(), json: body)
    }

    @Test func linesHaveSequenceNumbersAndAreReadAfterASequence() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let appended = try await append(hub, id, ["one", "two", "three"])
            #expect(appended.status == 201)
            #expect((appended.data["lines"] as? [[String: Any]])?.compactMap { $0["sequence"] as? Int } == [1, 2, 3])
            #expect(appended.data["version"] as? Int == 2)
            _ = try await append(hub, id, ["four"])
            let all = try await hub.request(.get, "/api/v1/operations/\(id)/logs", token: token)
            #expect((all.data["lines"] as? [[String: Any]])?.compactMap { $0["text"] as? String } == ["one", "two", "three", "four"])
            #expect(all.data["last_sequence"] as? Int == 4)
            let page = try await hub.request(.get, "/api/v1/operations/\(id)/logs?after=1&limit=2", token: token)
            #expect((page.data["lines"] as? [[String: Any]])?.compactMap { $0["sequence"] as? Int } == [2, 3])
            #expect(page.data["has_more"] as? Bool == true)
            #expect(page.data["next_after"] as? Int == 3)
            #expect(try await append(hub, id, []).status == 400)
            #expect(try await hub.request(.post, "/api/v1/operations/\(id)/logs", token: token, json: #"{"lines":"x"}"#).status == 400)
            #expect(try await hub.request(.post, "/api/v1/operations/\(id)/logs", token: token, json: #"{"line":["x"]}"#).status == 400)
            #expect(try await hub.request(.get, "/api/v1/operations/\(id)/logs?after=-1", token: token).status == 400)
        }
    }

    @Test func theCapDropsTheOldestLinesAndCountsThem() async throws {
        try await TestHub.run(configure: {
            $0.operations.logLinesPerOperation = 5
            $0.operations.maxLogLineBytes = 8
            $0.operations.maxLogPageSize = 3
        }) { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            #expect(try await append(hub, id, ["12345678"]).status == 201)
            let tooLong = try await append(hub, id, ["123456789"])
            #expect(tooLong.status == 400)
            for batch in 0..<3 { _ = try await append(hub, id, ["a\(batch)", "b\(batch)", "c\(batch)"]) }
            let read = try await hub.request(.get, "/api/v1/operations/\(id)/logs?limit=3", token: token)
            #expect(read.data["dropped"] as? Int == 5)
            #expect(read.data["gap"] as? Bool == true)
            #expect((read.data["lines"] as? [[String: Any]])?.compactMap { $0["sequence"] as? Int } == [6, 7, 8])
            let rest = try await hub.request(.get, "/api/v1/operations/\(id)/logs?after=8&limit=3", token: token)
            #expect((rest.data["lines"] as? [[String: Any]])?.compactMap { $0["text"] as? String } == ["b2", "c2"])
            let op = try await hub.request(.get, "/api/v1/operations/\(id)", token: token)
            #expect(op.data["dropped_log_lines"] as? Int == 5)
            #expect(op.data["log_sequence"] as? Int == 10)
            #expect(try await hub.request(.get, "/api/v1/operations/\(id)/logs?limit=4", token: token).status == 400)
        }
    }

    @Test func followStreamsLinesAsTheyComeAndEndsWithTheOperation() async throws {
        try await TestHub.run { hub in
            let token = try await hub.token()
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            _ = try await hub.patchOperation(id, #"{"status":"in_progress"}"#)
            _ = try await append(hub, id, ["before"])
            let probe = NDJSONProbe(port: hub.port, path: "/api/v1/operations/\(id)/logs?follow=true", token: token)
            let head = try await probe.responseHead().lowercased()
            #expect(head.hasPrefix("http/1.1 200"))
            #expect(head.contains("content-type: application/x-ndjson"))
            #expect(head.contains("cache-control: no-cache"))
            #expect(head.contains("x-accel-buffering: no"))
            let first = try await probe.lines(until: "line")
            #expect(first.last?["text"] as? String == "before")
            _ = try await append(hub, id, ["live 1", "live 2"])
            let live = try await probe.lines(until: "line")
            #expect(live.last?["text"] as? String == "live 1")
            #expect(live.last?["sequence"] as? Int == 2)
            _ = try await append(hub, id, ["last"])
            _ = try await hub.patchOperation(id, #"{"status":"succeeded"}"#)
            let tail = try await probe.lines(until: "end")
            #expect(tail.filter { $0["type"] as? String == "line" }.compactMap { $0["text"] as? String } == ["live 2", "last"])
            #expect(tail.last?["status"] as? String == "succeeded")
            #expect(tail.last?["last_sequence"] as? Int == 4)

            // Following a finished operation gives what is left and ends at once.
            let late = NDJSONProbe(port: hub.port, path: "/api/v1/operations/\(id)/logs?follow=true&after=2", token: token)
            let all = try await late.lines(until: "end")
            #expect(all.compactMap { $0["sequence"] as? Int } == [3, 4])
        }
    }

    @Test func aFollowerGetsKeepAlivesAndIsEndedByShutdown() async throws {
        let probe: NDJSONProbe = try await TestHub.run(configure: { $0.operations.followKeepAliveSeconds = 1 }) { hub in
            let id = try #require(try await hub.createOperation()["operation_id"] as? String)
            let probe = NDJSONProbe(port: hub.port, path: "/api/v1/operations/\(id)/logs?follow=true", token: try await hub.token())
            let idle = try await probe.lines(until: "keepalive", timeout: 10)
            #expect(idle.allSatisfy { $0["type"] as? String == "keepalive" })
            return probe
        }
        // TestHub.run shut the hub down gracefully: the follower was told so.
        let end = try await probe.lines(until: "shutdown", timeout: 10)
        #expect(end.last?["last_sequence"] as? Int == 0)
    }
}
