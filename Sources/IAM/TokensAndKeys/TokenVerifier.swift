public import Foundation
import JWTKit
import Logging
import Metrics
public import PortcullisCore
public import Storage

/// The one place tokens are verified; the gateway calls it for every request with a bearer token.
///
/// JWT access tokens: the header must name `ES256` (the only algorithm accepted) and a `kid` that the key
/// ring holds, with `typ: at+jwt`; then the signature, `iss`, `aud`, `exp` and `nbf` (with leeway), the
/// token's own row (not revoked) and the account (exists, active). Opaque persistent tokens are looked up by
/// SHA-256. Permissions are resolved live from the account and its roles, narrowed by the token's scope.
public struct TokenVerifier: Sendable {
    /// Token cache hits and misses (`portcullis_token_cache_total{result}`), made once: the backend `serve`
    /// bootstraps is in place before the first request.
    static let cacheHits = Counter(label: "portcullis_token_cache_total", dimensions: [("result", "hit")])
    static let cacheMisses = Counter(label: "portcullis_token_cache_total", dimensions: [("result", "miss")])
    public let keyRing: KeyRing
    let tokens: TokenStore
    let accounts: AccountStore
    let roles: RoleStore
    let cache: PrincipalCache
    let issuer: String
    let audience: String
    let leeway: TimeInterval
    let clock: WallClock

    public init(
        keyRing: KeyRing,
        tokens: TokenStore,
        accounts: AccountStore,
        roles: RoleStore,
        cache: PrincipalCache,
        issuer: String,
        audience: String,
        leeway: TimeInterval = 60,
        clock: WallClock
    ) {
        self.keyRing = keyRing
        self.tokens = tokens
        self.accounts = accounts
        self.roles = roles
        self.cache = cache
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.clock = clock
    }

    /// The principal behind `token`, or why not.
    public func verify(_ token: String) async throws(AuthenticationError) -> Principal {
        let now = self.clock.now
        let hash = Identifiers.tokenHash(token)
        if let cached = self.cache.get(hash, now: now) {
            Self.cacheHits.increment()
            return cached
        }
        Self.cacheMisses.increment()
        let generation = self.cache.generation
        let principal: Principal
        do {
            if token.hasPrefix(TokenIssuer.persistentPrefix) {
                principal = try await self.verifyOpaque(token, hash: hash, now: now)
            } else if token.split(separator: ".", omittingEmptySubsequences: false).count == 3 {
                principal = try await self.verifyJWT(token, now: now)
            } else {
                throw AuthenticationError.invalidToken("not a token Portcullis issues for bearer use")
            }
        } catch let error as AuthenticationError {
            throw error
        } catch let error as StorageError {
            throw .unavailable("\(error)")
        } catch let error as KeyRingError {
            throw .unavailable("\(error)")
        } catch {
            throw .invalidToken("unreadable")
        }
        self.cache.put(principal, tokenHash: hash, now: now, verifiedSince: generation)
        return principal
    }

    private func verifyJWT(_ token: String, now: Date) async throws -> Principal {
        // Split and decoded once, by jwt-kit; the claims come out only once the signature checks out.
        let signatures = self.keyRing.signatures
        var verification = signatures.verify(token)
        if case .unknownKey(let kid) = verification {
            // Perhaps a key another replica has just made: the ring re-reads the keys, at most once a second.
            guard await self.keyRing.knows(kid: kid) else { throw AuthenticationError.invalidToken("unknown key id") }
            verification = signatures.verify(token)
        }
        let claims: AccessTokenClaims
        switch verification {
        case .verified(let verified): claims = verified
        case .unknownKey: throw AuthenticationError.invalidToken("unknown key id")
        case .refused(let reason): throw AuthenticationError.invalidToken(reason)
        }
        guard claims.iss.value == self.issuer else { throw AuthenticationError.invalidToken("wrong issuer") }
        guard claims.aud.value.contains(self.audience) else { throw AuthenticationError.invalidToken("wrong audience") }
        guard claims.exp.value.addingTimeInterval(self.leeway) > now else { throw AuthenticationError.invalidToken("expired") }
        guard claims.nbf.value <= now.addingTimeInterval(self.leeway) else { throw AuthenticationError.invalidToken("not yet valid") }
        guard let entry = try await self.tokens.find(id: claims.jti.value), entry.record.kind == .access,
            entry.record.accountID == claims.sub.value
        else {
            throw AuthenticationError.invalidToken("unknown token")
        }
        guard entry.record.revokedAt == nil else { throw AuthenticationError.invalidToken("revoked") }
        return try await self.principal(for: entry, expiresAt: claims.exp.value, tokenType: "access_token")
    }

    private func verifyOpaque(_ token: String, hash: String, now: Date) async throws -> Principal {
        guard let entry = try await self.tokens.find(hash: hash), entry.record.kind == .persistent else {
            throw AuthenticationError.invalidToken("unknown token")
        }
        guard entry.record.revokedAt == nil else { throw AuthenticationError.invalidToken("revoked") }
        if let expiresAt = entry.record.expiresAt, expiresAt <= now {
            throw AuthenticationError.invalidToken("expired")
        }
        return try await self.principal(for: entry, expiresAt: entry.record.expiresAt, tokenType: "persistent")
    }

    private func principal(for entry: TokenStore.Entry, expiresAt: Date?, tokenType: String) async throws -> Principal {
        guard let account = try await self.accounts.find(id: entry.record.accountID) else {
            throw AuthenticationError.invalidToken("account gone")
        }
        guard try await self.accounts.isEnabled(account) else { throw AuthenticationError.accountDisabled }
        let granted = Set(account.permissions).union(try await self.roles.permissions(of: account.roles))
        return Principal(
            accountID: account.id,
            username: account.username,
            tenant: account.tenant,
            type: account.type,
            roles: account.roles,
            granted: granted,
            scope: entry.record.scope.map(Set.init),
            tokenID: entry.record.id,
            tokenType: tokenType,
            expiresAt: expiresAt,
            issuedAt: entry.record.createdAt,
            actor: entry.act
        )
    }
}
