import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Protocol

/// The outermost responder: gives every request an id (`X-Request-ID`, the
/// client's if it is sane), turns every error into the REST envelope (never an
/// empty body, a stack trace or HTML), and records HTTP metrics by route.
struct HubResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == HubRequestContext {
    typealias Context = HubRequestContext
    let inner: Inner
    let metrics: HTTPMetrics

    func respond(to request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        context.requestID = Self.requestID(from: request)
        context.logger[metadataKey: "hub.request.id"] = .string(context.requestID)
        var response: Response
        do {
            response = try await inner.respond(to: request, context: context)
        } catch {
            let apiError = APIError.from(error)
            if apiError.code == .internalError {
                context.logger.error("request failed", metadata: ["hub.error": "\(error)"])
            }
            response = JSONResponse.error(apiError, requestID: context.requestID)
        }
        response.headers[.xRequestID] = context.requestID
        let route = context.endpointPath ?? "unmatched"
        metrics.record(method: request.method.rawValue, route: route, status: Int(response.status.code), since: start)
        return response
    }

    static func requestID(from request: Request) -> String {
        RequestID.pick(request.headers[.xRequestID])
    }
}

/// Request ids: the client's `X-Request-ID` when it is 1–128 visible ASCII
/// characters, else a new `req_…`.
enum RequestID {
    static func pick(_ given: String?) -> String {
        if let given, (1...128).contains(given.utf8.count), given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            return given
        }
        return "req_" + String(UInt64.random(in: 0..<UInt64.max), radix: 36)
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-ID")!
}
