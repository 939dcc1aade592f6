import Foundation
public import Messaging
public import Policy
public import PortcullisCore
import Storage

/// The token API: issue tokens for accounts (OIH's `POST /api/v1/tokens`), list and revoke them,
/// introspect (RFC 7662) and refresh.
public struct TokenAdministration: Sendable {
    /// How long a token issued through the API lives.
    public enum Lifetime: Sendable, Equatable {
        /// OIH's `expiresIn: -1`: an opaque token that does not expire.
        case persistent
        case duration(Duration)
    }

    let identity: Identity
    let authorizer: Authorizer
    let bus: any EventBus

    public init(identity: Identity, bus: any EventBus) {
        self.identity = identity
        self.authorizer = identity.policies.authorizer
        self.bus = bus
    }

    /// Issues a token for `accountID`. Lifetimes up to the access-token lifetime give a JWT; longer ones
    /// (and `persistent`) an opaque token, since a JWT must not outlive the key that signed it.
    public func create(
        accountID: String, lifetime: Lifetime?, customPermissions: [String]?, description: String?, by caller: Principal, requestID: String?
    ) async throws -> TokenIssuer.Issued {
        guard let account = try await self.identity.accounts.find(id: accountID) else { throw IAMError.notFound("Account not found.") }
        if let customPermissions {
            guard self.authorizer.holds(caller, "iam.token.update") else {
                throw IAMError.forbidden("customPermissions need iam.token.update.")
            }
            let granted = Set(account.permissions).union(try await self.identity.roles.permissions(of: account.roles))
            let catalog = self.identity.policies.catalog
            for permission in customPermissions {
                guard catalog.contains(permission) else { throw IAMError.invalid([("UNKNOWN_PERMISSION", "Unknown permission \(permission).")]) }
                guard catalog.grants(held: granted, permission) else {
                    throw IAMError.forbidden("customPermissions cannot exceed the account's own permissions (\(permission)).")
                }
            }
        }
        let issued: TokenIssuer.Issued
        switch lifetime ?? .duration(self.identity.issuer.accessTokenTTL) {
        case .persistent:
            issued = try await self.identity.issuer.persistentToken(for: account, scope: customPermissions, description: description)
        case .duration(let duration) where duration <= self.identity.issuer.accessTokenTTL:
            issued = try await self.identity.issuer.accessToken(for: account, ttl: duration, scope: customPermissions, description: description)
        case .duration(let duration):
            issued = try await self.identity.issuer.persistentToken(for: account, ttl: duration, scope: customPermissions, description: description)
        }
        try await self.publishAudit("audit.iam.token.created", record: issued.record, caller: caller, requestID: requestID)
        return issued
    }

    public func list(accountID: String?, offset: Int, limit: Int) async throws -> (items: [TokenRecord], total: Int) {
        try await self.identity.tokens.list(accountID: accountID, offset: offset, limit: limit)
    }

    public func get(_ id: String) async throws -> TokenRecord {
        guard let entry = try await self.identity.tokens.find(id: id) else { throw IAMError.notFound("Token not found.") }
        return entry.record
    }

    /// Revokes a token of the caller's own, or any token with `iam.token.delete`; other tokens are "not found".
    public func revoke(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder, requestID: String?) async throws {
        guard let entry = try await self.identity.tokens.find(id: id),
            try await self.authorizer.check(
                caller, ResourceAction(platform: "iam.token.delete", ownerMay: true),
                on: ResourceRef(type: "token", id: id, tenant: nil, owner: entry.record.accountId), recordingTo: decisions)
        else { throw IAMError.notFound("Token not found.") }
        try await self.identity.revoke(tokenID: id)
        try await self.publishAudit("audit.iam.token.revoked", record: entry.record, caller: caller, requestID: requestID)
    }

    /// RFC 7662: `{active:false}` for anything unknown, expired, revoked or of a disabled account.
    public func introspect(_ token: String) async throws -> JSONValue {
        let principal: Principal
        do {
            principal = try await self.identity.verifier.verify(token)
        } catch .unavailable(let reason) {
            throw AuthenticationError.unavailable(reason)
        } catch {
            return ["active": false]
        }
        var body = self.introspection(of: principal)
        // Service accounts are OAuth clients: RFC 7662 names the client the token was issued to.
        if principal.type == .service,
            let row = try await self.identity.database.first("SELECT client_id FROM iam_service_clients WHERE account_id = \(principal.accountID)"),
            case .object(var fields) = body
        {
            fields["client_id"] = .string(try row.string("client_id"))
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

    /// A new token of the same kind and scope for the caller; the presented one stops working.
    public func refresh(_ caller: Principal, requestID: String?) async throws -> TokenIssuer.Issued {
        guard let account = try await self.identity.accounts.find(id: caller.accountID) else { throw IAMError.notFound("Account not found.") }
        let scope = caller.scope.map { Array($0).sorted() }
        let issued: TokenIssuer.Issued
        if caller.tokenType == "persistent" {
            issued = try await self.identity.issuer.persistentToken(for: account, scope: scope, description: "refreshed")
        } else {
            issued = try await self.identity.issuer.accessToken(for: account, scope: scope, actor: caller.actor)
        }
        try await self.identity.revoke(tokenID: caller.tokenID)
        try await self.publishAudit("audit.iam.token.created", record: issued.record, caller: caller, requestID: requestID)
        return issued
    }

    private func publishAudit(_ name: String, record: TokenRecord, caller: Principal, requestID: String?) async throws {
        let payload: JSONValue = [
            "tokenId": .string(record.id), "accountId": .string(record.accountId), "kind": .string(record.kind.rawValue),
            "by": .string(caller.accountID), "actor": try JSONValue(encoding: AuditActor(caller)),
        ]
        try await self.bus.publish(try Event(name: name, serviceName: "iam", payload: payload, requestId: requestID, tenant: caller.tenant))
    }
}
