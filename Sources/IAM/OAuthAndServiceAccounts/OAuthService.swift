import Foundation
public import Messaging
public import Policy
public import PortcullisCore
public import Storage

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
    public static let clientCredentials = "client_credentials"
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

    struct TokenPair: Sendable {
        let access: TokenIssuer.Issued
        let refresh: TokenIssuer.Issued
    }

    let accounts: AccountStore
    let roles: RoleStore
    let tokens: TokenStore
    let issuer: TokenIssuer
    let verifier: TokenVerifier
    let login: LoginService
    let sessions: Sessions
    let policies: PolicyStore
    let serviceAccounts: ServiceAccounts
    let administration: TokenAdministration
    let bus: any EventBus
    let clock: WallClock
    var authorizer: Authorizer { self.policies.current.authorizer }

    public init(
        accounts: AccountStore, roles: RoleStore, tokens: TokenStore, issuer: TokenIssuer, verifier: TokenVerifier, login: LoginService,
        sessions: Sessions, policies: PolicyStore, serviceAccounts: ServiceAccounts, administration: TokenAdministration, bus: any EventBus,
        clock: WallClock
    ) {
        self.clock = clock
        self.accounts = accounts
        self.roles = roles
        self.tokens = tokens
        self.issuer = issuer
        self.verifier = verifier
        self.login = login
        self.sessions = sessions
        self.policies = policies
        self.serviceAccounts = serviceAccounts
        self.administration = administration
        self.bus = bus
    }

    /// The client's account, from HTTP Basic or form credentials; nil when none were sent.
    public func authenticateClient(id: String?, secret: String?) async throws -> ServiceAccounts.Client? {
        guard let id else { return nil }
        guard let secret, let client = try await self.serviceAccounts.authenticate(clientID: id, secret: secret) else {
            throw OAuthError("invalid_client", "Client authentication failed.", status: 401)
        }
        return client
    }

    public func token(
        form: [String: String], client: ServiceAccounts.Client?, clientIP: String, decisions: any ResourceDecisionRecorder, requestID: String?
    ) async throws -> TokenResponse {
        switch form["grant_type"] {
        case "password": return try await self.password(form, clientIP: clientIP, requestID: requestID)
        case Self.clientCredentials: return try await self.clientCredentials(form, client: client)
        case "refresh_token": return try await self.refresh(form)
        case Self.tokenExchange: return try await self.exchange(form, client: client?.account, decisions: decisions, requestID: requestID)
        case nil: throw OAuthError("invalid_request", "grant_type is required.")
        default: throw OAuthError("unsupported_grant_type", "Supported: password, client_credentials, refresh_token, token exchange.")
        }
    }

    private func password(_ form: [String: String], clientIP: String, requestID: String?) async throws -> TokenResponse {
        guard let username = form["username"], let password = form["password"] else {
            throw OAuthError("invalid_request", "username and password are required.")
        }
        if let problem = LoginService.problem(username: username, password: password) {
            throw OAuthError("invalid_request", problem)
        }
        let session: LoginService.Session
        do {
            session = try await self.login.login(
                username: username, password: password, clientIP: clientIP, requestID: requestID, withRefreshToken: true)
        } catch LoginService.Failure.locked(let retryAfter) {
            throw OAuthError("invalid_grant", "Too many failed logins.", retryAfter: LoginService.seconds(retryAfter))
        } catch LoginService.Failure.busy(let retryAfter) {
            throw OAuthError("temporarily_unavailable", "Too many logins at once; try again shortly.", status: 503, retryAfter: retryAfter)
        } catch is LoginService.Failure {
            throw OAuthError("invalid_grant", "Invalid username or password.")
        }
        return self.response(session.access, refresh: session.refresh)
    }

    private func clientCredentials(_ form: [String: String], client: ServiceAccounts.Client?) async throws -> TokenResponse {
        guard let client else { throw OAuthError("invalid_client", "Client authentication is required.", status: 401) }
        let scope = try await self.requestedScope(form["scope"], within: client.account)
        // Marked with its grant and issued under the secret it was asked with: rotating the client's secret
        // revokes what the old secret obtained, also a token issued while the rotation was under way.
        let issuer = self.issuer
        guard
            let issued = try await self.serviceAccounts.underCurrentSecret(
                client,
                { connection in
                    try await issuer.accessToken(
                        for: client.account, scope: scope, lineage: TokenIssuer.Lineage(grant: Self.clientCredentials), on: connection)
                })
        else { throw OAuthError("invalid_client", "Client authentication failed.", status: 401) }
        return self.response(issued, refresh: nil)
    }

    /// Rotating refresh: the presented refresh token is retired and a new access and refresh token of the
    /// same family and session are issued, in one transaction. A retired token coming back (a copy, or the
    /// loser of two concurrent uses) revokes the whole family.
    private func refresh(_ form: [String: String]) async throws -> TokenResponse {
        guard let presented = form["refresh_token"] else { throw OAuthError("invalid_request", "refresh_token is required.") }
        let invalid = OAuthError("invalid_grant", "The refresh token is invalid, expired or revoked.")
        guard let entry = try await self.tokens.find(hash: Identifiers.tokenHash(presented)), entry.record.kind == .refresh,
            let family = entry.familyID
        else { throw invalid }
        if entry.record.revokedAt != nil {
            // A retired refresh token came back: someone holds a copy. Kill the whole family.
            try await self.sessions.revokeFamily(family)
            throw invalid
        }
        guard (entry.record.expiresAt ?? .distantFuture) > self.clock.now,
            let account = try await self.accounts.find(id: entry.record.accountID), try await self.accounts.isEnabled(account)
        else { throw invalid }
        let issuer = self.issuer
        let pair: TokenPair?
        do {
            pair = try await self.sessions.replace(tokenID: entry.record.id) { connection in
                let access = try await issuer.accessToken(for: account, scope: entry.record.scope, lineage: entry.lineage, on: connection)
                let next = try await issuer.refreshToken(for: account, scope: entry.record.scope, lineage: entry.lineage, on: connection)
                return TokenPair(access: access, refresh: next)
            }
        } catch IAMError.sessionExpired {
            throw OAuthError("invalid_grant", "The session has reached its maximum length; log in again.")
        }
        guard let pair else {
            try await self.sessions.revokeFamily(family)
            throw invalid
        }
        return self.response(pair.access, refresh: pair.refresh)
    }

    /// RFC 8693: a token for the subject of `subject_token`, acted on by the subject of `actor_token` (or by
    /// the authenticated client), narrowed by `scope`, with `act` nesting any earlier delegation.
    private func exchange(
        _ form: [String: String], client: Account?, decisions: any ResourceDecisionRecorder, requestID: String?
    ) async throws -> TokenResponse {
        guard let subjectToken = form["subject_token"], form["subject_token_type"] == Self.accessTokenType else {
            throw OAuthError("invalid_request", "subject_token and subject_token_type (\(Self.accessTokenType)) are required.")
        }
        let subject: Principal
        do {
            subject = try await self.verifier.verify(subjectToken)
        } catch {
            throw OAuthError("invalid_grant", "The subject token is invalid.")
        }
        let actor: Principal
        if let actorToken = form["actor_token"] {
            guard form["actor_token_type"] == Self.accessTokenType else {
                throw OAuthError("invalid_request", "actor_token_type must be \(Self.accessTokenType).")
            }
            do {
                actor = try await self.verifier.verify(actorToken)
            } catch {
                throw OAuthError("invalid_grant", "The actor token is invalid.")
            }
        } else if let client {
            actor = try await self.clientPrincipal(client)
        } else {
            throw OAuthError("invalid_client", "An actor_token or client authentication is required.", status: 401)
        }
        guard let account = try await self.accounts.find(id: subject.accountID) else {
            throw OAuthError("invalid_grant", "Unknown subject.")
        }
        let mayAct = try await self.authorizer.check(
            actor, ResourceAction(platform: "iam.token.exchange"), on: GrantChecks.resource(account), recordingTo: decisions)
        guard mayAct else {
            throw OAuthError("unauthorized_client", "The actor lacks iam.token.exchange.", status: 403)
        }
        let scope: [String]
        if let requested = form["scope"] {
            scope = requested.split(separator: " ").map(String.init)
            let policies = self.policies.current
            // The scope only narrows what the subject token holds (its own scope included): the rule of custom
            // permissions, with the subject in the caller's place, recorded as the actor's request.
            let verdict = policies.grants.decideNarrowing(subject, scope, within: subject.granted)
            guard try await policies.authorizer.check(verdict.decision, about: actor, on: GrantChecks.resource(account), recordingTo: decisions)
            else {
                throw OAuthError("invalid_scope", "The scope can only narrow the subject's permissions (\(verdict.refusal?.permission ?? "?")).")
            }
        } else {
            scope = subject.scope.map { Array($0).sorted() } ?? subject.granted.sorted()
        }
        let act = Principal.Actor.actor(sub: actor.accountID, act: subject.actor)
        // The exchanged token continues the subject token's lineage: its session (delegation does not extend
        // it; a persistent subject that never expires starts a new one), its refresh family (a logout ends it
        // too) and its grant (a rotated client secret takes it too).
        let lineage = try await self.tokens.find(id: subject.tokenID)?.lineage ?? TokenIssuer.Lineage()
        let issued: TokenIssuer.Issued
        do {
            issued = try await self.issuer.accessToken(
                for: account, scope: scope, actor: act, description: "token exchange", lineage: lineage)
        } catch IAMError.sessionExpired {
            throw OAuthError("invalid_grant", "The subject's session has reached its maximum length.")
        }
        let audit: JSONValue = [
            "tokenId": .string(issued.record.id), "subject": .string(account.id), "actor": .string(actor.accountID),
            "scope": .array(scope.map(JSONValue.string)),
        ]
        try await self.bus.publish(
            try Event(
                name: "audit.iam.token.exchanged", serviceName: "iam", payload: audit, requestID: requestID, tenant: account.tenant,
                now: self.clock.now))
        return TokenResponse(
            access_token: issued.token, token_type: "Bearer", expires_in: self.expiresIn(issued), refresh_token: nil,
            scope: scope.joined(separator: " "), issued_token_type: Self.accessTokenType
        )
    }

    private func requestedScope(_ text: String?, within account: Account) async throws -> [String]? {
        guard let text else { return nil }
        let granted = Set(account.permissions).union(try await self.roles.permissions(of: account.roles))
        let scope = text.split(separator: " ").map(String.init)
        for permission in scope where !self.policies.current.catalog.grants(held: granted, permission) {
            throw OAuthError("invalid_scope", "The scope can only narrow the client's permissions (\(permission)).")
        }
        return scope
    }

    /// An authenticated client as a principal, with its live permissions, for decisions about what it may do.
    public func clientPrincipal(_ account: Account) async throws -> Principal {
        let granted = Set(account.permissions).union(try await self.roles.permissions(of: account.roles))
        return Principal(
            accountID: account.id, username: account.username, tenant: account.tenant, type: account.type, roles: account.roles, granted: granted,
            scope: nil, tokenID: "client", tokenType: "client", expiresAt: nil, actor: nil
        )
    }

    /// RFC 7662 for `/oauth2/introspect`: the caller (an authenticated client or a bearer) needs
    /// `iam.token.introspect`, decided and recorded like any other check.
    public func introspect(_ token: String, by caller: Principal?, decisions: any ResourceDecisionRecorder) async throws -> JSONValue {
        guard let caller else {
            throw OAuthError("invalid_client", "Client authentication or a bearer token with iam.token.introspect is required.", status: 401)
        }
        let allowed = try await self.authorizer.check(
            caller, ResourceAction(platform: "iam.token.introspect"), on: ResourceRef(type: "token", id: "introspection", tenant: nil),
            recordingTo: decisions)
        guard allowed else { throw OAuthError("unauthorized_client", "Introspection needs iam.token.introspect.", status: 403) }
        return try await self.administration.introspect(token)
    }

    /// RFC 7009 for `/oauth2/revoke`: the token's owner (or a holder of `iam.token.delete`) revokes it, a
    /// refresh token together with its family; the check is recorded. Unknown tokens are no error.
    public func revoke(_ token: String, by caller: Principal, decisions: any ResourceDecisionRecorder) async throws {
        let entry: TokenStore.Entry?
        if token.hasPrefix(TokenIssuer.refreshPrefix) || token.hasPrefix(TokenIssuer.persistentPrefix) {
            entry = try await self.tokens.find(hash: Identifiers.tokenHash(token))
        } else if let principal = try? await self.verifier.verify(token) {
            entry = try await self.tokens.find(id: principal.tokenID)
        } else {
            entry = nil
        }
        guard let entry, entry.record.revokedAt == nil else { return }
        let allowed = try await self.authorizer.check(
            caller, ResourceAction(platform: "iam.token.delete", ownerMay: true),
            on: ResourceRef(type: "token", id: entry.record.id, tenant: nil, owner: entry.record.accountID), recordingTo: decisions)
        guard allowed else { return }
        if entry.record.kind == .refresh, let family = entry.familyID {
            try await self.sessions.revokeFamily(family)
        } else {
            try await self.sessions.revoke(tokenID: entry.record.id)
        }
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
