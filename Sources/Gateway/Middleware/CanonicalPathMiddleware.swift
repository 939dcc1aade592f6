public import Hummingbird
import PortcullisCore

/// Checks that the path is canonical (see ``PathCanonicalizer``). A path that is not is noted on the
/// context, and ``AuthorizationMiddleware`` records the deny and answers 400 before any rule is matched;
/// in a gateway without authorization (tests of the bare pipeline) it answers 400 itself.
public struct CanonicalPathMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    let deferRefusal: Bool

    /// - Parameter deferRefusal: leave the 400 to ``AuthorizationMiddleware``, which records it.
    public init(deferRefusal: Bool) {
        self.deferRefusal = deferRefusal
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let problem = Self.problem(with: request.head.path ?? "") else {
            return try await next(request, context)
        }
        guard self.deferRefusal else { throw problem }
        var context = context
        context.pathProblem = problem
        return try await next(request, context)
    }

    /// Why `path` is not canonical; nil when it is.
    static func problem(with path: String) -> APIError? {
        do {
            _ = try PathCanonicalizer.canonicalPath(of: path)
            return nil
        } catch {
            return error
        }
    }
}
