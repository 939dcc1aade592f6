import Foundation
import HTTPTypes
public import Hummingbird
public import IAM
import Logging
import PortcullisCore

/// Verifies the bearer token, when there is one, and puts the principal on the context.
///
/// It decides nothing itself: it notes on the context what it found, and ``AuthorizationMiddleware`` decides
/// and records. No `Authorization` header: anonymous. A bearer token that does not verify: a 401 for every
/// route. Another scheme: anonymous, and a 401 on every route that is not public. Key ring or database down:
/// a 503 (fail closed, never a 401 for an outage).
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    let verifier: TokenVerifier

    public init(verifier: TokenVerifier) {
        self.verifier = verifier
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.pathProblem == nil, let header = request.headers[.authorization] else {
            return try await next(request, context)
        }
        var context = context
        guard let token = Self.bearerToken(header) else {
            // Another scheme (Basic, for the OAuth endpoints' client authentication) is no bearer token:
            // public routes may read it themselves, every other route refuses with this.
            context.credentialProblem = APIError.unauthorized("INVALID_TOKEN", "The Authorization header must be 'Bearer <token>'.")
            return try await next(request, context)
        }
        do {
            context.principal = try await self.verifier.verify(token)
        } catch .unavailable(let reason) {
            context.logger.error("authentication unavailable", metadata: ["error": .string(reason)])
            context.authenticationFailure = APIError.serviceUnavailable(
                "AUTHENTICATION_UNAVAILABLE", "Tokens cannot be checked right now; try again later.")
        } catch .accountDisabled {
            context.authenticationFailure = APIError.unauthorized("ACCOUNT_DISABLED", "The account is disabled.")
        } catch {
            context.authenticationFailure = APIError.unauthorized("INVALID_TOKEN", "The token is invalid, expired or revoked.")
        }
        return try await next(request, context)
    }

    /// The token of `Bearer <token>` (scheme case-insensitive); nil for other schemes or an empty token.
    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
