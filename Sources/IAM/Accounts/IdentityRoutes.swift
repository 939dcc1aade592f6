import Foundation
public import GatewayKit
import HTTPTypes
public import Hummingbird
import Metrics
public import Policy
public import PortcullisCore

/// Login, logout, the caller's own account, and the key discovery documents.
public struct IdentityRoutes: Sendable {
    let login: LoginService
    let sessions: Sessions
    let accounts: AccountStore
    let keyRing: KeyRing
    let configuration: GatewayConfiguration

    public init(login: LoginService, sessions: Sessions, accounts: AccountStore, keyRing: KeyRing, configuration: GatewayConfiguration) {
        self.login = login
        self.sessions = sessions
        self.accounts = accounts
        self.keyRing = keyRing
        self.configuration = configuration
    }

    struct LoginRequest: Decodable {
        let username: String
        let password: String
    }

    /// `{token, id, expiresIn}`: OIH's login answer (`id` is the token id, `expiresIn` in seconds).
    struct LoginResponse: ResponseEncodable {
        let token: String
        let id: String
        let expiresIn: Int
    }

    public func register(on routes: RouteRegistry) {
        routes.post("/login") { request, context in
            let body = try await JSONBody.decode(LoginRequest.self, from: request, context: context)
            var problems: [(reason: String, message: String)] = []
            if body.username.isEmpty { problems.append(("MISSING_FIELD", "username must not be empty.")) }
            if body.password.isEmpty { problems.append(("MISSING_FIELD", "password must not be empty.")) }
            if let problem = LoginService.problem(username: body.username, password: body.password) {
                problems.append(("INVALID_CREDENTIALS_FORMAT", problem))
            }
            guard problems.isEmpty else { throw APIError.validation(problems) }
            do {
                let issued = try await self.login.login(
                    username: body.username, password: body.password, clientIP: context.clientIP, requestID: context.requestID.value
                ).access
                let lifetime = (issued.record.expiresAt ?? issued.record.createdAt).timeIntervalSince(issued.record.createdAt)
                return LoginResponse(token: issued.token, id: issued.record.id, expiresIn: Int(lifetime.rounded()))
            } catch let failure as LoginService.Failure {
                throw Self.apiError(failure)
            }
        }

        routes.post("/logout") { _, context in
            let principal = try context.requirePrincipal()
            try await self.sessions.logout(tokenID: principal.tokenID)
            return ["loggedOut": true] as [String: Bool]
        }

        routes.read("/api/v1/users/me") { _, context in
            let principal = try context.requirePrincipal()
            guard let account = try await self.accounts.find(id: principal.accountID) else {
                throw APIError.notFound("Account not found.")
            }
            return DataEnvelope(account)
        }

        routes.read("/.well-known/jwks.json") { _, _ in
            await self.keyRing.jwks()
        }

        routes.read("/.well-known/openid-configuration") { _, _ in
            self.discovery()
        }
    }

    /// The OpenID Provider / OAuth server metadata: where tokens come from and how to check them.
    func discovery() -> JSONValue {
        let base = self.configuration.publicURL
        return [
            "issuer": .string(base),
            "jwks_uri": .string("\(base)/.well-known/jwks.json"),
            "token_endpoint": .string("\(base)/oauth2/token"),
            "introspection_endpoint": .string("\(base)/oauth2/introspect"),
            "revocation_endpoint": .string("\(base)/oauth2/revoke"),
            "grant_types_supported": ["password", "client_credentials", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [.string(KeyRing.algorithm)],
            "access_token_signing_alg_values_supported": [.string(KeyRing.algorithm)],
        ]
    }

    static func apiError(_ failure: LoginService.Failure) -> APIError {
        switch failure {
        case .invalidCredentials:
            return .unauthorized("INVALID_CREDENTIALS", "Invalid username or password.")
        case .accountDisabled:
            return .unauthorized("ACCOUNT_DISABLED", "The account is disabled.")
        case .locked(let retryAfter):
            let seconds = LoginService.seconds(retryAfter)
            return APIError(
                status: 429, reason: "TOO_MANY_ATTEMPTS", message: "Too many failed logins; try again in \(seconds) seconds.",
                headers: ["Retry-After": String(seconds)]
            )
        case .busy(let seconds):
            Counter(label: "portcullis_logins_shed_total").increment()
            return APIError(
                status: 503, reason: "TOO_BUSY", message: "Too many logins at once; try again in \(seconds) seconds.",
                headers: ["Retry-After": String(seconds)]
            )
        }
    }
}
