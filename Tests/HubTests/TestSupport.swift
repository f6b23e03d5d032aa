import CoreMetrics
import Foundation
import HubTesting
import NIOCore
import Protocol
import Synchronization
import Testing

@testable import Hub

// MARK: - Timeouts

/// `HubTesting.withTimeout` (the one deadline race of the test targets),
/// recording the timeout as a test failure at the caller's line.
func withTimeout<T: Sendable>(
    _ seconds: Double = 5,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    do {
        return try await HubTesting.withTimeout(seconds, "the awaited event", body)
    } catch let error as HubTesting.TimeoutError {
        Issue.record(error, sourceLocation: sourceLocation)
        throw error
    }
}

// MARK: - Identities, topics, events

func topic(_ text: String) -> Topic {
    // Test topics are literals known to be valid.
    try! Topic(text)
}

func key(_ text: String, tenant: String = "acme") -> TopicKey {
    TopicKey(tenant: tenant, topic: topic(text))
}

func permission(_ text: String) -> Permission {
    Permission(text)!
}

func identity(
    _ subject: String = "alice", tenant: String = "acme", roles: [RoleGrant] = [RoleGrant(role: "admin")],
    expiresAt: Date? = nil
) -> Identity {
    Identity(subject: subject, tenant: tenant, roles: roles, expiresAt: expiresAt)
}

func draft(
    _ topicText: String, tenant: String = "acme", event: String = "progress_updated", data: JSONValue = ["n": 1],
    teamID: String? = nil
) -> EventDraft {
    EventDraft(tenant: tenant, topic: topic(topicText), event: event, data: data, teamID: teamID)
}

func makeEvent(_ topicText: String, tenant: String = "acme", epoch: String = "etest", position: UInt64, event: String = "status_changed")
    -> Event
{
    Event(
        tenant: tenant, topic: topic(topicText), event: event, offset: Offset(epoch: epoch, major: position),
        timestamp: Date(timeIntervalSince1970: 1_800_000_000), data: ["position": .number(Double(position))])
}

func buffer(_ text: String) -> ByteBuffer {
    ByteBuffer(string: text)
}

func makeSession(id: UInt64 = 1, subject: String = "alice", tenant: String = "acme", queueLimit: Int = 64) -> Session {
    Session(id: id, connectionID: "c_test_\(id)", identity: identity(subject, tenant: tenant), queueLimit: queueLimit)
}

// MARK: - Reading frames

extension JSONValue {
    var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }
}

struct FrameDecodingError: Error, CustomStringConvertible {
    var text: String
    var description: String { "frame is not a JSON object: \(text)" }
}

/// Decodes one frame as JSON.
func json(_ frame: ByteBuffer) throws -> JSONValue {
    let value = try JSONDecoder().decode(JSONValue.self, from: Data(frame.readableBytesView))
    guard value.isObject else { throw FrameDecodingError(text: String(buffer: frame)) }
    return value
}

/// The `type` of a frame.
func frameType(_ frame: ByteBuffer) throws -> String? {
    try json(frame)["type"]?.stringValue
}

/// The offset of an event or snapshot frame.
func frameOffset(_ frame: ByteBuffer) throws -> Offset? {
    try json(frame)["offset"]?.stringValue.flatMap(Offset.init)
}

struct UnexpectedOutput: Error, CustomStringConvertible {
    var description: String
}

extension Session {
    /// Whether a writer is parked in `next()` (white-box, to test the wake-up path).
    var hasWaiter: Bool {
        state.withLock { $0.waiter != nil }
    }
}

/// Awaits the session's next output.
func nextOutput(_ session: Session, timeout: Double = 5, sourceLocation: SourceLocation = #_sourceLocation) async throws
    -> Session.Output?
{
    try await withTimeout(timeout, sourceLocation: sourceLocation) { await session.next() }
}

/// Awaits the session's next output and requires it to be frames.
func nextFrames(_ session: Session, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [ByteBuffer] {
    switch try await nextOutput(session, sourceLocation: sourceLocation) {
    case .frames(let frames): return frames
    case .close(let request): throw UnexpectedOutput(description: "expected frames, got close \(request.code)")
    case nil: throw UnexpectedOutput(description: "expected frames, got nil")
    }
}

/// Awaits the session's next output and requires it to be a close.
func nextClose(_ session: Session, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Session.CloseRequest {
    switch try await nextOutput(session, sourceLocation: sourceLocation) {
    case .close(let request): return request
    case .frames(let frames):
        throw UnexpectedOutput(description: "expected close, got \(frames.count) frames: \(frames.map { String(buffer: $0) })")
    case nil: throw UnexpectedOutput(description: "expected close, got nil")
    }
}

/// Reads frames until `count` have arrived (fails on a close or a timeout).
func collectFrames(_ session: Session, count: Int, timeout: Double = 10, sourceLocation: SourceLocation = #_sourceLocation)
    async throws -> [ByteBuffer]
{
    try await withTimeout(timeout, sourceLocation: sourceLocation) {
        var frames: [ByteBuffer] = []
        while frames.count < count {
            switch await session.next() {
            case .frames(let batch): frames.append(contentsOf: batch)
            case .close(let request): throw UnexpectedOutput(description: "closed with \(request.code) after \(frames.count) frames")
            case nil: throw UnexpectedOutput(description: "next() returned nil after \(frames.count) frames")
            }
        }
        return frames
    }
}

/// Reads frames until one satisfies `isLast` (fails on a close or a timeout).
func collectFrames(
    _ session: Session, timeout: Double = 10, sourceLocation: SourceLocation = #_sourceLocation,
    until isLast: @escaping @Sendable (ByteBuffer) throws -> Bool
) async throws -> [ByteBuffer] {
    try await withTimeout(timeout, sourceLocation: sourceLocation) {
        var frames: [ByteBuffer] = []
        while true {
            switch await session.next() {
            case .frames(let batch):
                for frame in batch {
                    frames.append(frame)
                    if try isLast(frame) { return frames }
                }
            case .close(let request): throw UnexpectedOutput(description: "closed with \(request.code) after \(frames.count) frames")
            case nil: throw UnexpectedOutput(description: "next() returned nil after \(frames.count) frames")
            }
        }
    }
}

/// Proves that nothing else is queued: sends a marker and requires it to be
/// the only frame the writer gets.
func expectNothingQueued(_ session: Session, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let marker = buffer(#"{"type":"marker"}"#)
    #expect(session.send(marker) == .queued, sourceLocation: sourceLocation)
    let frames = try await nextFrames(session, sourceLocation: sourceLocation)
    #expect(frames == [marker], "unexpected frames: \(frames.map { String(buffer: $0) })", sourceLocation: sourceLocation)
}

/// Waits (without sleeping) until a task is parked in `session.next()`.
func waitUntilWaiting(_ session: Session, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    try await withTimeout(5, sourceLocation: sourceLocation) {
        while !session.hasWaiter {
            try Task.checkCancellation()
            await Task.yield()
        }
    }
}

// MARK: - Metrics

/// A metrics factory that remembers the value of every counter and meter.
final class RecordingMetrics: MetricsFactory {
    final class CounterBox: CounterHandler {
        let value = Mutex<Int64>(0)
        func increment(by amount: Int64) { value.withLock { $0 += amount } }
        func reset() { value.withLock { $0 = 0 } }
    }

    final class MeterBox: MeterHandler {
        let value = Mutex<Double>(0)
        func set(_ value: Int64) { self.value.withLock { $0 = Double(value) } }
        func set(_ value: Double) { self.value.withLock { $0 = value } }
        func increment(by amount: Double) { value.withLock { $0 += amount } }
        func decrement(by amount: Double) { value.withLock { $0 -= amount } }
    }

    final class RecorderBox: RecorderHandler, TimerHandler {
        let count = Mutex<Int>(0)
        func record(_ value: Int64) { count.withLock { $0 += 1 } }
        func record(_ value: Double) { count.withLock { $0 += 1 } }
        func recordNanoseconds(_ duration: Int64) { count.withLock { $0 += 1 } }
    }

    private let counters = Mutex<[String: CounterBox]>([:])
    private let meters = Mutex<[String: MeterBox]>([:])
    private let recorders = Mutex<[String: RecorderBox]>([:])

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        counters.withLock { boxes in
            if let box = boxes[label] { return box }
            let box = CounterBox()
            boxes[label] = box
            return box
        }
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        meters.withLock { boxes in
            if let box = boxes[label] { return box }
            let box = MeterBox()
            boxes[label] = box
            return box
        }
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        recorder(label)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        recorder(label)
    }

    private func recorder(_ label: String) -> RecorderBox {
        recorders.withLock { boxes in
            if let box = boxes[label] { return box }
            let box = RecorderBox()
            boxes[label] = box
            return box
        }
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    func counter(_ label: String) -> Int64 {
        counters.withLock { $0[label] }?.value.withLock { $0 } ?? 0
    }

    func meter(_ label: String) -> Double {
        meters.withLock { $0[label] }?.value.withLock { $0 } ?? 0
    }

    func recordings(_ label: String) -> Int {
        recorders.withLock { $0[label] }?.count.withLock { $0 } ?? 0
    }

    var hubMetrics: HubMetrics { HubMetrics(factory: self) }
}
