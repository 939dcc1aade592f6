public import GatewayKit
public import Hummingbird
import Logging
import PortcullisCore

/// Logs one line per request: method, path (never the query, which may carry credentials), status and
/// duration. The request id comes from the logger's metadata.
public struct RequestLogMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        context.logger.info(
            "request",
            metadata: [
                "http.method": .string(request.method.rawValue),
                // The caller's path, bounded like the decision record's.
                "http.path": .string(request.uri.path.utf8Prefix(512)),
                "http.status": .stringConvertible(response.status.code),
                "duration_ms": .stringConvertible((milliseconds * 100).rounded() / 100),
            ]
        )
        return response
    }
}
