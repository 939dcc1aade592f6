public import GatewayKit
public import Hummingbird
import PortcullisCore

/// Applies `PORTCULLIS_MAX_BODY_BYTES`: refuses a declared `Content-Length` over the limit with 413 before
/// any handler runs, and sets the limit that body readers enforce on chunked bodies.
public struct BodyLimitMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    public let limit: Int

    public init(limit: Int) {
        self.limit = limit
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers[.contentLength] {
            guard let length = Int(declared), length >= 0 else {
                throw APIError.badRequest("INVALID_CONTENT_LENGTH", "Content-Length is not a byte count.")
            }
            if length > self.limit {
                throw APIError.payloadTooLarge(limit: self.limit)
            }
        }
        var context = context
        context.maxUploadSize = self.limit
        return try await next(request, context)
    }
}
