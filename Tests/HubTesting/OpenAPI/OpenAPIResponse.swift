import Foundation
import HTTPTypes

/// A response as observed on the wire, to check against the spec.
public struct OpenAPIResponse: Sendable {
    public var status: Int
    /// Header fields in arrival order (names as sent; compared case-insensitively).
    public var headers: [(name: String, value: String)]
    /// The body; `nil` when it was not captured (a stream that does not end).
    public var body: Data?

    public init(status: Int, headers: [(name: String, value: String)], body: Data?) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(_ result: HTTPResult) {
        self.init(status: result.status, headers: result.headers.map { ($0.name.rawName, $0.value) }, body: result.body)
    }

    /// A response head as text (`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket…`), without a body.
    public init?(head: String) {
        let lines = head.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" })
        guard let statusLine = lines.first else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        self.init(status: status, headers: headers, body: nil)
    }

    /// Every value of header `name`.
    public func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The media type of `Content-Type` without parameters, lowercased.
    public var mediaType: String? {
        values("Content-Type").first.map {
            $0.split(separator: ";", maxSplits: 1).first.map(String.init)?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        }
    }
}
