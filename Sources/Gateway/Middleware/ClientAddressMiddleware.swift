public import GatewayKit
public import HTTPTypes
public import Hummingbird
import Logging
public import PortcullisCore

/// Sets the request's client address: the connection's peer, or, when the peer is a trusted proxy
/// (`PORTCULLIS_TRUSTED_PROXIES`), the right-most untrusted hop of its `Forwarded` or `X-Forwarded-For`
/// header. Decision records, login throttling and the request's log lines (`client.ip`) use it.
public struct ClientAddressMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    static let forwarded = HTTPField.Name("forwarded")!
    static let forwardedFor = HTTPField.Name("x-forwarded-for")!

    let proxies: TrustedProxies

    public init(proxies: TrustedProxies) {
        self.proxies = proxies
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if !self.proxies.isEmpty {
            context.clientIP = self.proxies.clientAddress(
                peer: context.clientIP, forwarded: request.headers[values: Self.forwarded],
                forwardedFor: request.headers[values: Self.forwardedFor])
        }
        context.logger[metadataKey: "client.ip"] = .string(context.clientIP)
        return try await next(request, context)
    }
}
