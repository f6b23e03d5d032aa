import Hummingbird
import Logging
import Protocol

/// Turns every error thrown below it, including the router's own "no such
/// route" (which the router would otherwise answer with an empty body), into
/// the REST envelope.
struct ErrorEnvelopeMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            if apiError.code == .internalError {
                context.logger.error("request failed", metadata: ["hub.error": "\(error)"])
            }
            return JSONResponse.error(apiError, requestID: context.requestID)
        }
    }
}
