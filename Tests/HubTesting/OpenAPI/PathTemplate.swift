import Foundation

/// An OpenAPI path template (`/api/v1/operations/{id}/logs`) matched against
/// concrete request paths: a `{name}` segment matches any one non-empty segment.
public struct PathTemplate: Sendable, Hashable, CustomStringConvertible {
    public let template: String
    let segments: [Segment]

    enum Segment: Sendable, Hashable {
        case literal(String)
        case parameter(String)
    }

    public init(_ template: String) {
        self.template = template
        segments = template.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
    }

    public var description: String { template }

    /// The parameter names, in order.
    public var parameterNames: [String] {
        segments.compactMap { if case .parameter(let name) = $0 { name } else { nil } }
    }

    /// The parameters of `path` (query string ignored) when it matches, else `nil`.
    public func match(_ path: String) -> [String: String]? {
        let bare = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        guard bare.hasPrefix("/") else { return nil }
        let parts = bare.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        guard parts.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (part, segment) in zip(parts, segments) {
            switch segment {
            case .literal(let text): guard part == text else { return nil }
            case .parameter(let name):
                guard !part.isEmpty else { return nil }
                parameters[name] = part.removingPercentEncoding ?? part
            }
        }
        return parameters
    }

    /// How many literal segments: of two matching templates, the more literal one wins.
    var literalCount: Int {
        segments.count { if case .literal = $0 { true } else { false } }
    }

    /// The template with each parameter replaced by `values[name]`.
    public func filled(_ values: [String: String]) -> String {
        "/" + segments.map { segment in
            switch segment {
            case .literal(let text): text
            case .parameter(let name): values[name] ?? name
            }
        }.joined(separator: "/")
    }
}
