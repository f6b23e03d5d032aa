import Hummingbird
import Protocol

/// Reads credentials (`Authorization: Bearer …` or `?token=…`) and puts the
/// verified identity, or the reason it was refused, on the context. It never
/// answers by itself: routes call `requireIdentity()`, and the WebSocket
/// endpoint reports a refusal in-band (error frame + close 4001).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let verifier: TokenVerifier

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let token = Self.token(from: request) {
            do {
                context.identity = try await verifier.verify(token)
            } catch {
                context.authFailure = error
            }
        }
        return try await next(request, context)
    }

    static func token(from request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]) }
            return nil
        }
        if let query = request.uri.queryParameters["token"], !query.isEmpty { return String(query) }
        return nil
    }
}
