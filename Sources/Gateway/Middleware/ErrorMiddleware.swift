public import GatewayKit
public import Hummingbird

/// Renders every error raised further in as the contract's error envelope, so that no failure leaves
/// the gateway as a bare 500 or in Hummingbird's own error format.
public struct ErrorMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return ErrorResponse.make(for: error, logger: context.logger)
        }
    }
}
