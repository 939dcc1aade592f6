import GatewayKit
import Hummingbird
import PortcullisCore
import Synchronization

/// Router-level middleware: turns Hummingbird's own errors into ``APIError`` before the router renders
/// them in its format, and tells an unknown path (404) from a known path with another method (405).
struct RouteErrorMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let routes: RouteList

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && context.endpointPath == "NotFound" {
            let allowed = self.routes.allowedMethods(for: request.uri.path)
            if allowed.isEmpty {
                throw APIError.notFound("No route matches \(request.method.rawValue) \(request.uri.path).", reason: "NO_ROUTE")
            }
            throw APIError.methodNotAllowed(allowed: allowed)
        } catch let error as HTTPError {
            throw ErrorResponse.apiError(for: error)
        }
    }
}
