public import GatewayKit
public import HTTPTypes
public import Hummingbird
import Logging
import PortcullisCore

/// Gives each request its `x-request-id` (the caller's when acceptable, else the one its context was made
/// with), and puts it on the request's logger and on every response.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    public static let headerName = HTTPField.Name("x-request-id")!

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        // The context was made with a generated id; the caller's replaces it when acceptable (one id per
        // request is made, not two).
        if let accepted = PortcullisCore.RequestID.accepting(request.headers[Self.headerName]) {
            context.requestID = accepted
        }
        let requestID = context.requestID
        // Hummingbird logs under `hb.request.id`; using the same key keeps one id per log line.
        context.logger[metadataKey: "hb.request.id"] = .string(requestID.value)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = ErrorResponse.make(for: error, logger: context.logger)
        }
        response.headers[Self.headerName] = requestID.value
        return response
    }
}
