public import Foundation
public import Messaging
public import PortcullisCore
public import Storage

/// The writes that end or change what a login may do, each in one transaction with the announcement that
/// purges every replica's cache: change an account's password or profile, replace a
/// refresh token, revoke a token or a whole refresh family, log out.
public struct Sessions: Sendable {
    let database: any Database
    let accounts: AccountStore
    let tokens: TokenStore
    let cache: PrincipalCache
    let hasher: any PasswordHasher
    let bus: any EventBus
    let clock: WallClock

    public init(
        database: any Database, accounts: AccountStore, tokens: TokenStore, cache: PrincipalCache, hasher: any PasswordHasher, bus: any EventBus,
        clock: WallClock
    ) {
        self.database = database
        self.accounts = accounts
        self.tokens = tokens
        self.cache = cache
        self.hasher = hasher
        self.bus = bus
        self.clock = clock
    }

    /// Changes an account's names (the caller's own profile).
    public func updateProfile(accountID: String, firstname: String?, lastname: String?) async throws -> Account? {
        try await self.database.transaction { connection in
            guard var account = try await self.accounts.find(id: accountID, on: connection) else { return nil }
            account.firstname = firstname ?? account.firstname
            account.lastname = lastname ?? account.lastname
            account.updatedAt = self.clock.now
            try await self.accounts.update(account, on: connection)
            return account
        }
    }

    /// Sets a new password and revokes every token of the account but `keeping` (the one in use).
    public func changePassword(accountID: String, to password: String, keeping: String?) async throws {
        let hash = try await self.hasher.hash(password)
        try await self.database.transaction { connection in
            try await self.accounts.setPasswordHash(hash, accountID: accountID, on: connection)
            _ = try await self.tokens.revokeAll(accountID: accountID, keeping: keeping, on: connection)
            try await IdentityChanges.announce("account:\(accountID)", database: self.database, on: connection)
        }
        self.cache.purge("account:\(accountID)")
    }

    /// Retires `tokenID` and issues its successor in one transaction, so that of two concurrent uses of one
    /// token exactly one gets a successor: the other finds it retired and gets nil. On PostgreSQL the loser
    /// waits for the winner's commit (row lock), so a family revoked after reuse also takes the successor.
    public func replace<Successor: Sendable>(
        tokenID: String, with issue: @Sendable (any DatabaseConnection) async throws -> Successor
    ) async throws -> Successor? {
        let database = self.database
        let issued: Successor? = try await database.transaction { connection in
            guard try await self.tokens.revoke(id: tokenID, on: connection) else { return nil }
            let issued = try await issue(connection)
            try await IdentityChanges.announce("token:\(tokenID)", database: database, on: connection)
            return issued
        }
        self.cache.purge("token:\(tokenID)")
        return issued
    }

    /// Ends a session: revokes the presented token (an `iam.token.revoked` event) and, when it belongs to a
    /// refresh family, the whole family (the refresh token included), so that nothing of the login keeps working.
    public func logout(tokenID: String) async throws {
        let family = try await self.tokens.find(id: tokenID)?.familyID
        try await self.revoke(tokenID: tokenID)
        if let family { try await self.revokeFamily(family) }
    }

    /// Revokes every token of a refresh family (reuse detection, logout), everywhere: each revoked token is
    /// purged from every replica's cache by its id, and nothing else is.
    public func revokeFamily(_ familyID: String) async throws {
        let database = self.database
        let revoked = try await database.transaction { connection in
            let ids = try await self.tokens.revokeFamily(familyID, on: connection)
            for id in ids {
                try await IdentityChanges.announce("token:\(id)", database: database, on: connection)
            }
            return ids
        }
        for id in revoked { self.cache.purge("token:\(id)") }
    }

    /// Revokes one token everywhere: marks it revoked and purges it from every replica's cache on commit.
    /// Returns false when it was unknown or revoked already.
    @discardableResult
    public func revoke(tokenID: String) async throws -> Bool {
        let revoked = try await self.database.transaction { connection in
            guard let entry = try await self.tokens.find(id: tokenID, on: connection), try await self.tokens.revoke(id: tokenID, on: connection)
            else { return false }
            try await IdentityChanges.announce("token:\(tokenID)", database: self.database, on: connection)
            // In the same transaction: the event exists exactly when the revocation does.
            let payload: JSONValue = ["id": .string(tokenID), "accountId": .string(entry.record.accountID)]
            try await self.bus.publish(
                try Event(name: "iam.token.revoked", serviceName: "iam", payload: payload, now: self.clock.now), on: connection)
            return true
        }
        self.cache.purge("token:\(tokenID)")
        return revoked
    }
}
