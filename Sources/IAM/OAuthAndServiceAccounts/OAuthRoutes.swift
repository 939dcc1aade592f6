import Foundation
public import GatewayKit
import HTTPTypes
import Hummingbird
public import Policy
public import PortcullisCore

/// `/oauth2/token`, `/oauth2/introspect` and `/oauth2/revoke` (RFC 6749, 7662, 7009, 8693). They take form
/// bodies, answer RFC 6749 errors, and authenticate clients themselves (HTTP Basic or form credentials).
public struct OAuthRoutes: Sendable {
    let oauth: OAuthService
    let tokens: TokenAdministration
    let policies: PolicyStore
    var authorizer: Authorizer { self.policies.current.authorizer }

    public init(oauth: OAuthService, tokens: TokenAdministration, policies: PolicyStore) {
        self.oauth = oauth
        self.tokens = tokens
        self.policies = policies
    }

    public func register(on routes: RouteRegistry) {
        routes.post("/oauth2/token") { request, context in
            try await Self.oauthErrors {
                let form = try await FormBody.parse(request, context: context)
                let client = try await self.client(request, form: form)
                let response = try await self.oauth.token(
                    form: form, client: client, clientIP: context.clientIP, decisions: context.decisions, requestID: context.requestID.value)
                return try Self.json(response)
            }
        }
        routes.post("/oauth2/introspect") { request, context in
            try await Self.oauthErrors {
                let form = try await FormBody.parse(request, context: context)
                let caller = try await self.caller(request, form: form, context: context)
                guard let token = form["token"] else { throw OAuthError("invalid_request", "token is required.") }
                return try Self.json(try await self.oauth.introspect(token, by: caller, decisions: context.decisions))
            }
        }
        routes.post("/oauth2/revoke") { request, context in
            try await Self.oauthErrors {
                let form = try await FormBody.parse(request, context: context)
                guard let caller = try await self.caller(request, form: form, context: context) else {
                    throw OAuthError("invalid_client", "Client authentication or a bearer token is required.", status: 401)
                }
                guard let token = form["token"] else { throw OAuthError("invalid_request", "token is required.") }
                // RFC 7009 §2.2: the answer is 200 whether or not the token was known or revoked.
                try await self.oauth.revoke(token, by: caller, decisions: context.decisions)
                return try Self.json([String: String]())
            }
        }
    }

    /// Who calls: the authenticated client, else the bearer of the request's token, else nobody.
    private func caller(_ request: Request, form: [String: String], context: GatewayRequestContext) async throws -> Principal? {
        if let client = try await self.client(request, form: form) {
            return try await self.oauth.clientPrincipal(client.account)
        }
        return context.principal
    }

    /// The client of the request: HTTP Basic first, then `client_id`/`client_secret` in the form.
    private func client(_ request: Request, form: [String: String]) async throws -> ServiceAccounts.Client? {
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("basic ") {
            guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":")
            else { throw OAuthError("invalid_client", "Malformed Basic credentials.", status: 401) }
            let id = String(pair[..<colon]).removingPercentEncoding
            let secret = String(pair[pair.index(after: colon)...]).removingPercentEncoding
            return try await self.oauth.authenticateClient(id: id, secret: secret)
        }
        return try await self.oauth.authenticateClient(id: form["client_id"], secret: form["client_secret"])
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store", HTTPField.Name("Pragma")!: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value)))
        )
    }

    /// Runs `body`, answering OAuth errors in RFC 6749's shape instead of the error envelope.
    static func oauthErrors(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as OAuthError {
            return try Self.errorResponse(error.error, error.description, status: error.status, retryAfter: error.retryAfter)
        } catch let error as OAuthHTTPError {
            return try Self.errorResponse(error.error, error.description, status: 400, retryAfter: nil)
        }
    }

    static func errorResponse(_ error: String, _ description: String, status: Int, retryAfter: Int?) throws -> Response {
        var response = try Self.json(["error": error, "error_description": description])
        response.status = HTTPResponse.Status(code: status)
        if status == 401 { response.headers[.wwwAuthenticate] = "Basic realm=\"portcullis\"" }
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }
}
