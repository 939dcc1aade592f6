public import Hummingbird

/// Refuses non-canonical paths with 400 before routing (see ``PathCanonicalizer``).
public struct CanonicalPathMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        _ = try PathCanonicalizer.canonicalPath(of: request.head.path ?? "")
        return try await next(request, context)
    }
}
