import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Protocol

/// One HTTP exchange with a test hub, body decoded as JSON when it is JSON.
public struct HTTPResult: Sendable {
    public let status: Int
    public let headers: HTTPFields
    public let body: Data

    /// The body as a JSON object (empty when it is not one).
    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// `error.code` of an error envelope.
    public var errorCode: String? {
        (json["error"] as? [String: Any])?["code"] as? String
    }

    /// `data` of a success envelope.
    public var data: [String: Any] {
        json["data"] as? [String: Any] ?? [:]
    }
}

/// Sends one request to `127.0.0.1:port` on a fresh connection.
public func httpRequest(
    port: Int, _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil, headers: HTTPFields = [:]
) async throws -> HTTPResult {
    var fields = headers
    if let token { fields[.authorization] = "Bearer \(token)" }
    if json != nil { fields[.contentType] = "application/json" }
    let request = TestClient.Request(path, method: method, headers: fields, body: json.map { ByteBuffer(string: $0) })
    let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
        try await client.execute(request)
    }
    let body = response.body.map { Data($0.readableBytesView) } ?? Data()
    return HTTPResult(status: Int(response.status.code), headers: response.headers, body: body)
}

extension HubNode {
    /// Sends one request to this node on a fresh connection.
    public func request(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil, headers: HTTPFields = [:]
    ) async throws -> HTTPResult {
        try await httpRequest(port: port, method, path, token: token, json: json, headers: headers)
    }
}

extension TestHub {
    /// Sends one request on a fresh connection.
    public func request(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil, headers: HTTPFields = [:]
    ) async throws -> HTTPResult {
        try await httpRequest(port: port, method, path, token: token, json: json, headers: headers)
    }

    /// Publishes one event as an admin of `tenant`; returns the offset.
    @discardableResult
    public func publish(
        _ topic: String, event: String = "status_changed", data: String = "{}", teamID: String? = nil, tenant: String = "acme"
    ) async throws -> String {
        let token = try await self.token(sub: "publisher", tenant: tenant)
        let team = teamID.map { ",\"team_id\":\"\($0)\"" } ?? ""
        let result = try await request(
            .post, "/api/v1/events", token: token, json: "{\"topic\":\"\(topic)\",\"event\":\"\(event)\",\"data\":\(data)\(team)}")
        guard result.status == 200, let events = result.data["events"] as? [[String: Any]],
            let offset = events.first?["offset"] as? String
        else {
            throw ProbeError("publish failed: \(result.status) \(result.text)")
        }
        return offset
    }
}

public struct ProbeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
