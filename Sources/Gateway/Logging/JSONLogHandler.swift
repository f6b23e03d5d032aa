import Foundation
import Logging
import Protocol
import Synchronization

/// One JSON object per line on standard error (`log.format: json`):
/// `{"timestamp","level","label","message","source",…metadata}`, metadata
/// keys as they are (`hub.request.id`, …). Nested metadata becomes JSON.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let sink: JSONLogSink

    public init(label: String, sink: JSONLogSink = .standardError) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var writer = JSONWriter(capacity: 256)
        writer.raw("{\"timestamp\":")
        writer.string(Timestamp.format(Date()))
        writer.raw(",\"level\":")
        writer.string(event.level.rawValue)
        writer.raw(",\"label\":")
        writer.string(label)
        writer.raw(",\"message\":")
        writer.string(event.message.description)
        writer.raw(",\"source\":")
        writer.string(event.source)
        for key in merged.keys.sorted() where !["timestamp", "level", "label", "message", "source"].contains(key) {
            writer.raw(",")
            writer.string(key)
            writer.raw(":")
            writer.value(Self.json(merged[key]!))
        }
        writer.raw("}\n")
        sink.write(writer.bytes)
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let items): .array(items.map(json))
        case .dictionary(let entries): .object(entries.mapValues(json))
        }
    }
}

/// Where JSON log lines go: whole lines, never interleaved.
public final class JSONLogSink: Sendable {
    private let write: @Sendable ([UInt8]) -> Void

    public init(_ write: @escaping @Sendable ([UInt8]) -> Void) {
        self.write = write
    }

    func write(_ bytes: [UInt8]) { write(bytes) }

    /// Standard error, one `write(2)` per line under a lock. A process-wide
    /// value because standard error is one: two sinks on it would interleave.
    public static let standardError: JSONLogSink = {
        let lock = Mutex(())
        return JSONLogSink { bytes in
            lock.withLock { _ in
                bytes.withUnsafeBytes { raw in
                    var offset = 0
                    while offset < raw.count {
                        let written = Foundation.write(2, raw.baseAddress! + offset, raw.count - offset)
                        if written <= 0 { return }
                        offset += written
                    }
                }
            }
        }
    }()
}
