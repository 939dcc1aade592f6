import Foundation
public import PortcullisCore
public import Storage

/// Creates the first platform admin when there is none: from `PORTCULLIS_ADMIN_USERNAME`/`_PASSWORD`, or
/// with a generated password that is shown once. There is no default password anywhere.
public struct AdminBootstrap: Sendable {
    /// What happened, for the start-up output.
    public enum Outcome: Sendable, Equatable {
        case existing
        case created(username: String)
        /// The password is in here so the caller can print it once; it is never logged.
        case generated(username: String, password: String)
    }

    let database: any Database
    let accounts: AccountStore
    let hasher: any PasswordHasher
    let clock: WallClock

    public init(database: any Database, accounts: AccountStore, hasher: any PasswordHasher, clock: WallClock) {
        self.database = database
        self.accounts = accounts
        self.hasher = hasher
        self.clock = clock
    }

    public func ensureAdmin(configured: (username: String, password: String)?) async throws -> Outcome {
        let accounts = self.accounts
        if try await accounts.platformAdminExists() {
            return .existing
        }
        let username = Username.canonical(configured?.username ?? "admin")
        let password = configured?.password ?? Identifiers.opaqueToken(prefix: "").prefix(24).description
        let hash = try await self.hasher.hash(password)
        let now = self.clock.now
        let account = Account(
            id: Identifiers.objectID(), username: username, firstname: nil, lastname: nil, tenant: nil, status: .active, type: .user,
            roles: [RoleStore.builtInID("ADMIN")], permissions: [], createdAt: now, updatedAt: now
        )
        do {
            try await self.database.transaction { connection in
                try await accounts.insert(account, passwordHash: hash, on: connection)
            }
        } catch StorageError.uniqueViolation {
            // Another replica starting at the same moment created the admin first.
            if try await accounts.platformAdminExists() { return .existing }
            throw AdminBootstrapError.usernameTaken(username)
        }
        return configured == nil ? .generated(username: username, password: password) : .created(username: username)
    }
}

/// The first admin cannot be created.
public enum AdminBootstrapError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The chosen username belongs to an account that is not a platform admin.
    case usernameTaken(String)

    public var description: String {
        switch self {
        case .usernameTaken(let name):
            "cannot create the first platform admin: the username '\(name)' belongs to another account; set PORTCULLIS_ADMIN_USERNAME"
        }
    }
}
