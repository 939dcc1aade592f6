import Foundation
public import Messaging
import Policy
import PortcullisCore
import Storage

/// An RFC 6749 §5.2 error: `{"error":"invalid_grant","error_description":"..."}`.
public struct OAuthError: Error, Sendable, Equatable {
    public let error: String
    public let description: String
    public let status: Int
    public var retryAfter: Int?

    public init(_ error: String, _ description: String, status: Int = 400, retryAfter: Int? = nil) {
        self.error = error
        self.description = description
        self.status = status
        self.retryAfter = retryAfter
    }
}

/// The OAuth 2.0 token endpoint's grants: `password`, `client_credentials`, `refresh_token` (rotating, with
/// reuse detection) and RFC 8693 token exchange.
public struct OAuthService: Sendable {
    public static let tokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
    public static let accessTokenType = "urn:ietf:params:oauth:token-type:access_token"

    /// The successful answer (RFC 6749 §5.1, RFC 8693 §2.2.1).
    public struct TokenResponse: Sendable, Encodable {
        public let access_token: String
        public let token_type: String
        public let expires_in: Int
        public let refresh_token: String?
        public let scope: String?
        public let issued_token_type: String?
    }

    let identity: Identity
    let serviceAccounts: ServiceAccounts
    let authorizer: Authorizer
    let bus: any EventBus

    public init(identity: Identity, serviceAccounts: ServiceAccounts, bus: any EventBus) {
        self.identity = identity
        self.serviceAccounts = serviceAccounts
        self.bus = bus
        self.authorizer = identity.policies.authorizer
    }

    /// The client's account, from HTTP Basic or form credentials; nil when none were sent.
    public func authenticateClient(id: String?, secret: String?) async throws -> Account? {
        guard let id else { return nil }
        guard let secret, let account = try await self.serviceAccounts.authenticate(clientID: id, secret: secret) else {
            throw OAuthError("invalid_client", "Client authentication failed.", status: 401)
        }
        return account
    }

    public func token(form: [String: String], client: Account?, clientIP: String, requestID: String?) async throws -> TokenResponse {
        switch form["grant_type"] {
        case "password": return try await self.password(form, clientIP: clientIP, requestID: requestID)
        case "client_credentials": return try await self.clientCredentials(form, client: client)
        case "refresh_token": return try await self.refresh(form)
        case Self.tokenExchange: return try await self.exchange(form, client: client, requestID: requestID)
        case nil: throw OAuthError("invalid_request", "grant_type is required.")
        default: throw OAuthError("unsupported_grant_type", "Supported: password, client_credentials, refresh_token, token exchange.")
        }
    }

    private func password(_ form: [String: String], clientIP: String, requestID: String?) async throws -> TokenResponse {
        guard let username = form["username"], let password = form["password"] else {
            throw OAuthError("invalid_request", "username and password are required.")
        }
        let issued: TokenIssuer.Issued
        do {
            issued = try await self.identity.login.login(username: username, password: password, clientIP: clientIP, requestID: requestID)
        } catch LoginService.Failure.locked(let retryAfter) {
            throw OAuthError("invalid_grant", "Too many failed logins.", retryAfter: max(1, Int(retryAfter.components.seconds) + 1))
        } catch is LoginService.Failure {
            throw OAuthError("invalid_grant", "Invalid username or password.")
        }
        guard let account = try await self.identity.accounts.find(id: issued.record.accountId) else {
            throw OAuthError("invalid_grant", "Invalid username or password.")
        }
        let family = Identifiers.objectID()
        try await self.identity.tokens.setFamily(family, tokenID: issued.record.id)
        let refresh = try await self.identity.issuer.refreshToken(for: account, familyID: family, scope: nil)
        return self.response(issued, refresh: refresh)
    }

    private func clientCredentials(_ form: [String: String], client: Account?) async throws -> TokenResponse {
        guard let client else { throw OAuthError("invalid_client", "Client authentication is required.", status: 401) }
        let scope = try await self.requestedScope(form["scope"], within: client)
        return self.response(try await self.identity.issuer.accessToken(for: client, scope: scope), refresh: nil)
    }

    private func refresh(_ form: [String: String]) async throws -> TokenResponse {
        guard let presented = form["refresh_token"] else { throw OAuthError("invalid_request", "refresh_token is required.") }
        let invalid = OAuthError("invalid_grant", "The refresh token is invalid, expired or revoked.")
        guard let entry = try await self.identity.tokens.find(hash: Identifiers.tokenHash(presented)), entry.record.kind == .refresh,
            let family = entry.familyID
        else { throw invalid }
        if entry.record.revokedAt != nil {
            // A retired refresh token came back: someone holds a copy. Kill the whole family.
            try await self.identity.revokeFamily(family)
            throw invalid
        }
        guard (entry.record.expiresAt ?? .distantFuture) > Date(),
            let account = try await self.identity.accounts.find(id: entry.record.accountId), account.status == .active
        else { throw invalid }
        try await self.identity.revoke(tokenID: entry.record.id)
        let access = try await self.identity.issuer.accessToken(for: account, scope: entry.record.scope, familyID: family)
        let next = try await self.identity.issuer.refreshToken(for: account, familyID: family, scope: entry.record.scope)
        return self.response(access, refresh: next)
    }

    /// RFC 8693: a token for the subject of `subject_token`, acted on by the subject of `actor_token` (or by
    /// the authenticated client), narrowed by `scope`, with `act` nesting any earlier delegation.
    private func exchange(_ form: [String: String], client: Account?, requestID: String?) async throws -> TokenResponse {
        guard let subjectToken = form["subject_token"], form["subject_token_type"] == Self.accessTokenType else {
            throw OAuthError("invalid_request", "subject_token and subject_token_type (\(Self.accessTokenType)) are required.")
        }
        let subject: Principal
        do {
            subject = try await self.identity.verifier.verify(subjectToken)
        } catch {
            throw OAuthError("invalid_grant", "The subject token is invalid.")
        }
        let actor: Principal
        if let actorToken = form["actor_token"] {
            guard form["actor_token_type"] == Self.accessTokenType else {
                throw OAuthError("invalid_request", "actor_token_type must be \(Self.accessTokenType).")
            }
            do {
                actor = try await self.identity.verifier.verify(actorToken)
            } catch {
                throw OAuthError("invalid_grant", "The actor token is invalid.")
            }
        } else if let client {
            actor = self.clientPrincipal(client, granted: Set(client.permissions).union(try await self.identity.roles.permissions(of: client.roles)))
        } else {
            throw OAuthError("invalid_client", "An actor_token or client authentication is required.", status: 401)
        }
        guard self.authorizer.holds(actor, "iam.token.exchange") else {
            throw OAuthError("unauthorized_client", "The actor lacks iam.token.exchange.", status: 403)
        }
        guard let account = try await self.identity.accounts.find(id: subject.accountID) else {
            throw OAuthError("invalid_grant", "Unknown subject.")
        }
        let scope: [String]
        if let requested = form["scope"] {
            scope = requested.split(separator: " ").map(String.init)
            for permission in scope where !self.authorizer.holds(subject, permission) {
                throw OAuthError("invalid_scope", "The scope can only narrow the subject's permissions (\(permission)).")
            }
        } else {
            scope = subject.scope.map { Array($0).sorted() } ?? subject.granted.sorted()
        }
        let act = Principal.Actor.actor(sub: actor.accountID, act: subject.actor)
        let issued = try await self.identity.issuer.accessToken(for: account, scope: scope, actor: act, description: "token exchange")
        let audit: JSONValue = [
            "tokenId": .string(issued.record.id), "subject": .string(account.id), "actor": .string(actor.accountID),
            "scope": .array(scope.map(JSONValue.string)),
        ]
        try await self.bus.publish(
            try Event(name: "audit.iam.token.exchanged", serviceName: "iam", payload: audit, requestId: requestID, tenant: account.tenant))
        return TokenResponse(
            access_token: issued.token, token_type: "Bearer", expires_in: self.expiresIn(issued), refresh_token: nil,
            scope: scope.joined(separator: " "), issued_token_type: Self.accessTokenType
        )
    }

    private func requestedScope(_ text: String?, within account: Account) async throws -> [String]? {
        guard let text else { return nil }
        let granted = Set(account.permissions).union(try await self.identity.roles.permissions(of: account.roles))
        let scope = text.split(separator: " ").map(String.init)
        for permission in scope where !self.identity.policies.catalog.grants(held: granted, permission) {
            throw OAuthError("invalid_scope", "The scope can only narrow the client's permissions (\(permission)).")
        }
        return scope
    }

    private func clientPrincipal(_ account: Account, granted: Set<String>) -> Principal {
        Principal(
            accountID: account.id, username: account.username, tenant: account.tenant, type: account.type, roles: account.roles, granted: granted,
            scope: nil, tokenID: "client", tokenType: "client", expiresAt: nil, actor: nil
        )
    }

    private func expiresIn(_ issued: TokenIssuer.Issued) -> Int {
        Int((issued.record.expiresAt ?? issued.record.createdAt).timeIntervalSince(issued.record.createdAt).rounded())
    }

    private func response(_ issued: TokenIssuer.Issued, refresh: TokenIssuer.Issued?) -> TokenResponse {
        TokenResponse(
            access_token: issued.token, token_type: "Bearer", expires_in: self.expiresIn(issued), refresh_token: refresh?.token,
            scope: issued.record.scope?.joined(separator: " "), issued_token_type: nil
        )
    }
}
