import Foundation
public import Messaging
public import Policy
public import PortcullisCore
public import Storage

/// The token API: issue tokens for accounts (OIH's `POST /api/v1/tokens`), list and revoke them,
/// introspect (RFC 7662) and refresh.
public struct TokenAdministration: Sendable {
    /// How long a token issued through the API lives.
    public enum Lifetime: Sendable, Equatable {
        /// OIH's `expiresIn: -1`: an opaque token that does not expire.
        case persistent
        case duration(Duration)
    }

    let database: any Database
    let accounts: AccountStore
    let tokens: TokenStore
    let clients: ServiceClientStore
    let issuer: TokenIssuer
    let verifier: TokenVerifier
    let sessions: Sessions
    let policies: PolicyStore
    let grants: GrantChecks
    let bus: any EventBus
    let clock: WallClock
    var authorizer: Authorizer { self.policies.current.authorizer }

    public init(
        database: any Database, accounts: AccountStore, tokens: TokenStore, clients: ServiceClientStore, issuer: TokenIssuer,
        verifier: TokenVerifier, sessions: Sessions, policies: PolicyStore, grants: GrantChecks, bus: any EventBus, clock: WallClock
    ) {
        self.clock = clock
        self.database = database
        self.accounts = accounts
        self.tokens = tokens
        self.clients = clients
        self.issuer = issuer
        self.verifier = verifier
        self.sessions = sessions
        self.policies = policies
        self.grants = grants
        self.bus = bus
    }

    /// Issues a token for `accountID`. Lifetimes up to the access-token lifetime give a JWT; longer ones
    /// (and `persistent`) an opaque token, since a JWT must not outlive the key that signed it.
    ///
    /// A token is the account's power in someone else's hands: the caller must hold everything the account
    /// holds (the ceiling), and `customPermissions` must be held by both the account and the caller.
    public func create(
        accountID: String, lifetime: Lifetime?, customPermissions: [String]?, description: String?, by caller: Principal,
        decisions: any ResourceDecisionRecorder, requestID: String?
    ) async throws -> TokenIssuer.Issued {
        guard let account = try await self.accounts.find(id: accountID) else { throw IAMError.notFound("Account not found.") }
        let ceiling = try await self.grants.requireCeiling(caller, over: account, decisions: decisions)
        if let customPermissions {
            try await self.checkCustomPermissions(customPermissions, for: account, by: caller, decisions: decisions)
        }
        let issuer = self.issuer
        let grants = self.grants
        // Issued once the account is confirmed to be the one checked: a token is its holder's whole power.
        let issued: TokenIssuer.Issued = try await self.database.transaction { connection in
            try await grants.confirm(ceiling, on: connection)
            switch lifetime ?? .duration(issuer.accessTokenTTL) {
            case .persistent:
                return try await issuer.persistentToken(for: account, scope: customPermissions, description: description, on: connection)
            case .duration(let duration) where duration <= issuer.accessTokenTTL:
                // The grant bounds the session: refreshing this token never carries it past the lifetime asked for.
                let end = self.clock.now.addingTimeInterval(TimeInterval(duration.components.seconds))
                return try await issuer.accessToken(
                    for: account, ttl: duration, scope: customPermissions, description: description, lineage: TokenIssuer.Lineage(sessionEndsAt: end),
                    on: connection)
            case .duration(let duration):
                let expiresAt = self.clock.now.addingTimeInterval(TimeInterval(duration.components.seconds))
                return try await issuer.persistentToken(
                    for: account, expiresAt: expiresAt, scope: customPermissions, description: description, on: connection)
            }
        }
        try await self.publishAudit("audit.iam.token.created", record: issued.record, caller: caller, requestID: requestID)
        return issued
    }

    /// `customPermissions` need `iam.token.update` and must exist (400); then ``GrantRule/decideNarrowing``:
    /// each held by the account (`EXCEEDS_ACCOUNT`) and by the caller (`NOT_HELD`). Both checks are recorded.
    private func checkCustomPermissions(
        _ permissions: [String], for account: Account, by caller: Principal, decisions: any ResourceDecisionRecorder
    ) async throws {
        let policies = self.policies.current
        let resource = GrantChecks.resource(account)
        guard try await policies.authorizer.check(caller, ResourceAction(platform: "iam.token.update"), on: resource, recordingTo: decisions)
        else {
            throw IAMError.forbidden("customPermissions need iam.token.update.", reason: "MISSING_PERMISSION")
        }
        let unknown = permissions.filter { !policies.catalog.contains($0) }
        guard unknown.isEmpty else { throw IAMError.invalid(unknown.map { ("UNKNOWN_PERMISSION", "Unknown permission \($0).") }) }
        let verdict = policies.grants.decideNarrowing(caller, permissions, within: try await self.grants.effectivePermissions(of: account))
        guard try await policies.authorizer.check(verdict.decision, about: caller, on: resource, recordingTo: decisions) else {
            throw GrantChecks.error(for: verdict)
        }
    }

    public func list(accountID: String?, offset: Int, limit: Int) async throws -> (items: [TokenRecord], total: Int) {
        try await self.tokens.list(accountID: accountID, offset: offset, limit: limit)
    }

    public func get(_ id: String) async throws -> TokenRecord {
        guard let entry = try await self.tokens.find(id: id) else { throw IAMError.notFound("Token not found.") }
        return entry.record
    }

    /// Revokes a token of the caller's own, or any token with `iam.token.delete`; other tokens are "not found".
    public func revoke(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder, requestID: String?) async throws {
        guard let entry = try await self.tokens.find(id: id),
            try await self.authorizer.check(
                caller, ResourceAction(platform: "iam.token.delete", ownerMay: true),
                on: ResourceRef(type: "token", id: id, tenant: nil, owner: entry.record.accountID), recordingTo: decisions)
        else { throw IAMError.notFound("Token not found.") }
        try await self.sessions.revoke(tokenID: id)
        try await self.publishAudit("audit.iam.token.revoked", record: entry.record, caller: caller, requestID: requestID)
    }

    /// RFC 7662: `{active:false}` for anything unknown, expired, revoked or of a disabled account.
    public func introspect(_ token: String) async throws -> JSONValue {
        let principal: Principal
        do {
            principal = try await self.verifier.verify(token)
        } catch .unavailable(let reason) {
            throw AuthenticationError.unavailable(reason)
        } catch {
            return ["active": false]
        }
        var body = self.introspection(of: principal)
        // Service accounts are OAuth clients: RFC 7662 names the client the token was issued to.
        if principal.type == .service,
            let clientID = try await self.clients.clientID(accountID: principal.accountID),
            case .object(var fields) = body
        {
            fields["client_id"] = .string(clientID)
            body = .object(fields)
        }
        return body
    }

    func introspection(of principal: Principal) -> JSONValue {
        let permissions: [String]
        if let scope = principal.scope {
            permissions = scope.filter { self.authorizer.holds(principal, $0) }.sorted()
        } else {
            permissions = principal.granted.sorted()
        }
        var body: [String: JSONValue] = [
            "active": true,
            "sub": .string(principal.accountID),
            "username": .string(principal.username),
            "tenant": principal.tenant.map(JSONValue.string) ?? .null,
            "token_type": .string(principal.tokenType),
            "permissions": .array(permissions.map(JSONValue.string)),
            "roles": .array(principal.roles.map(JSONValue.string)),
            "isAdmin": .bool(self.authorizer.holds(principal, PermissionCatalog.all)),
            "isTenantAdmin": .bool(self.authorizer.holds(principal, PermissionCatalog.tenantAll)),
            "jti": .string(principal.tokenID),
        ]
        if let scope = principal.scope { body["scope"] = .string(scope.sorted().joined(separator: " ")) }
        if let expiresAt = principal.expiresAt { body["exp"] = .int(Int64(expiresAt.timeIntervalSince1970)) }
        if let issuedAt = principal.issuedAt { body["iat"] = .int(Int64(issuedAt.timeIntervalSince1970)) }
        if let actor = principal.actor, let encoded = try? JSONValue(encoding: actor) { body["act"] = encoded }
        return .object(body)
    }

    /// A new token of the same kind, scope, family and session for the caller; the presented one stops
    /// working. An expiring opaque token keeps its expiry; an access token never outlives its session
    /// (`SESSION_EXPIRED` then). Of two concurrent refreshes of one token, one wins and the other is 401.
    public func refresh(_ caller: Principal, requestID: String?) async throws -> TokenIssuer.Issued {
        guard let account = try await self.accounts.find(id: caller.accountID),
            let entry = try await self.tokens.find(id: caller.tokenID)
        else { throw IAMError.notFound("Account not found.") }
        let scope = caller.scope.map { Array($0).sorted() }
        let issuer = self.issuer
        let issued = try await self.sessions.replace(tokenID: entry.record.id) { connection in
            if entry.record.kind == .persistent {
                return try await issuer.persistentToken(
                    for: account, expiresAt: entry.record.expiresAt, scope: scope, description: "refreshed", lineage: entry.lineage, on: connection)
            }
            return try await issuer.accessToken(for: account, scope: scope, actor: caller.actor, lineage: entry.lineage, on: connection)
        }
        guard let issued else { throw AuthenticationError.invalidToken("refreshed already") }
        try await self.publishAudit("audit.iam.token.created", record: issued.record, caller: caller, requestID: requestID)
        return issued
    }

    private func publishAudit(_ name: String, record: TokenRecord, caller: Principal, requestID: String?) async throws {
        let payload: JSONValue = [
            "tokenId": .string(record.id), "accountId": .string(record.accountID), "kind": .string(record.kind.rawValue),
            "by": .string(caller.accountID), "actor": try JSONValue(encoding: AuditActor(caller)),
        ]
        try await self.bus.publish(
            try Event(name: name, serviceName: "iam", payload: payload, requestID: requestID, tenant: caller.tenant, now: self.clock.now))
    }
}
