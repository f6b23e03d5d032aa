import Foundation
import HTTPTypes
import Hummingbird
import Protocol

/// Operation versions as HTTP entity tags: `ETag: "7"`; `If-Match` and
/// `If-None-Match` take `"7"`, `W/"7"`, `7` or `*`.
enum EntityTag {
    static func header(_ version: Int) -> String { "\"\(version)\"" }

    enum Condition: Equatable {
        case any
        /// The versions named; a tag that is not a version number never matches (`nil`).
        case versions([Int?])
    }

    static func parse(_ text: String) -> Condition {
        var versions: [Int?] = []
        for item in text.split(separator: ",") {
            var tag = item.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return .any }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            if tag.hasPrefix("\""), tag.hasSuffix("\""), tag.count >= 2 { tag = String(tag.dropFirst().dropLast()) }
            versions.append(Int(tag))
        }
        return .versions(versions)
    }

    /// The version an `If-Match` requires (`nil`: no condition, or `*`).
    static func ifMatch(_ request: Request) throws -> Int? {
        guard let text = request.headers[.ifMatch] else { return nil }
        switch parse(text) {
        case .any: return nil
        case .versions(let versions):
            guard versions.count == 1 else {
                throw APIError(.validationError, "If-Match must name one version", details: ["field": "If-Match"])
            }
            // A tag that is no version can never match the current one.
            return versions[0] ?? -1
        }
    }

    /// Whether `If-None-Match` names `version` (or `*`).
    static func noneMatchNames(_ request: Request, version: Int) -> Bool? {
        guard let text = request.headers[.ifNoneMatch] else { return nil }
        switch parse(text) {
        case .any: return true
        case .versions(let versions): return versions.contains(version)
        }
    }
}
