public import Foundation
public import Hummingbird
import Logging
public import NIOCore
public import Policy
public import PortcullisCore

/// Per-request state that travels from the first middleware to the module handler.
///
/// A value type: each middleware hands a changed copy to the next, so nothing is shared across requests.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's `x-request-id`: generated when the context is made, replaced by the caller's acceptable
    /// one in the request-id middleware.
    public var requestID: PortcullisCore.RequestID
    /// The body limit for this request, set by the body-limit middleware from configuration.
    public var maxUploadSize: Int
    /// The peer address of the connection, for client-IP based decisions (lockout, audit).
    public let remoteAddress: SocketAddress?
    /// The caller, once the gateway's access step verified a bearer token; nil for anonymous requests.
    public var principal: Principal?
    /// Where module resource checks record their decisions for this request, set by
    /// the gateway's access step; until then every check fails (closed).
    public var decisions: any ResourceDecisionRecorder = NoDecisionRecorder()

    /// The client's IP address as text, for decision records, login throttling and logs: the connection's
    /// peer (`unknown` when it has none, as in router tests), or the address a trusted proxy forwarded
    /// (``ClientAddressMiddleware``).
    public var clientIP: String

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = PortcullisCore.RequestID.generate()
        self.maxUploadSize = GatewayConfiguration.defaultMaxBodyBytes
        self.remoteAddress = source.channel.remoteAddress
        self.clientIP = self.remoteAddress?.ipAddress ?? "unknown"
    }

    public var requestDecoder: JSONDecoder {
        JSONDecoder()
    }

    /// Encodes dates as RFC 3339 with milliseconds, the contract's one timestamp format.
    public var responseEncoder: JSONEncoder {
        Self.encoder
    }

    /// One encoder for every answer, configured once (encoding with it is thread-safe; nothing changes it).
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }()
}

extension GatewayRequestContext {
    /// The verified caller; 401 when the request carries no valid token.
    public func requirePrincipal() throws -> Principal {
        guard let principal = self.principal else {
            throw APIError.unauthorized("UNAUTHENTICATED", "Authentication is required.")
        }
        return principal
    }
}

extension JSONValue: ResponseEncodable {}
