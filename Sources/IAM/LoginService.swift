import Foundation
public import Logging
public import Messaging
import PortcullisCore
public import Storage

/// Password login (`/login`, the OAuth `password` grant): one generic error for unknown users and wrong
/// passwords, the same bcrypt work for both, lockout per account and per client address.
public struct LoginService: Sendable {
    public enum Failure: Error, Sendable, Equatable {
        /// Unknown user or wrong password; deliberately the same.
        case invalidCredentials
        /// The password was right but the account is disabled.
        case accountDisabled
        /// Too many failures: try again after this long.
        case locked(retryAfter: Duration)
    }

    let accounts: AccountStore
    let hasher: any PasswordHasher
    let throttle: LoginThrottle
    let issuer: TokenIssuer
    let bus: any EventBus
    let dummyHash: DummyHash
    let logger: Logger

    public init(database: any Database, hasher: any PasswordHasher, throttle: LoginThrottle, issuer: TokenIssuer, bus: any EventBus, logger: Logger) {
        self.accounts = AccountStore(database: database)
        self.hasher = hasher
        self.throttle = throttle
        self.issuer = issuer
        self.bus = bus
        self.dummyHash = DummyHash(hasher: hasher)
        self.logger = logger
    }

    /// Checks the credentials and issues an access token.
    public func login(username: String, password: String, clientIP: String, requestID: String?) async throws -> TokenIssuer.Issued {
        let canonical = Username.canonical(username)
        let accountSubject = LoginThrottle.accountSubject(canonical)
        let ipSubject = LoginThrottle.ipSubject(clientIP)
        if let retryAfter = try await self.throttle.lockedFor([accountSubject, ipSubject]) {
            try await self.audit(outcome: "deny", reason: "TOO_MANY_ATTEMPTS", account: nil, clientIP: clientIP, requestID: requestID)
            throw Failure.locked(retryAfter: retryAfter)
        }
        let credentials = password.utf8.count <= PasswordPolicy.maximumBytes ? try await self.accounts.credentials(username: canonical) : nil
        // Unknown users cost the same bcrypt work as known ones, so timing does not tell them apart.
        let hash: String
        if let stored = credentials?.passwordHash {
            hash = stored
        } else {
            hash = try await self.dummyHash.value()
        }
        let matches = try await self.hasher.verify(password, against: hash) && credentials?.passwordHash != nil
        guard matches, let account = credentials?.account else {
            try await self.throttle.recordFailure(account: accountSubject, ip: ipSubject)
            try await self.audit(outcome: "deny", reason: "INVALID_CREDENTIALS", account: nil, clientIP: clientIP, requestID: requestID)
            throw Failure.invalidCredentials
        }
        guard try await self.accounts.isEnabled(account) else {
            try await self.audit(outcome: "deny", reason: "ACCOUNT_DISABLED", account: account, clientIP: clientIP, requestID: requestID)
            throw Failure.accountDisabled
        }
        try await self.throttle.recordSuccess(account: accountSubject)
        if self.hasher.needsRehash(hash) {
            try await self.accounts.setPasswordHash(try await self.hasher.hash(password), accountID: account.id)
        }
        let issued = try await self.issuer.accessToken(for: account)
        try await self.audit(
            outcome: "allow", reason: "LOGIN", account: account, clientIP: clientIP, requestID: requestID, tokenID: issued.record.id)
        return issued
    }

    /// `audit.iam.login`: who, from where, with what outcome; never the password or the token. The
    /// username tried is not recorded for failures either (it is sometimes a password typed in the wrong field).
    private func audit(outcome: String, reason: String, account: Account?, clientIP: String, requestID: String?, tokenID: String? = nil) async throws
    {
        var payload: [String: JSONValue] = [
            "outcome": .string(outcome), "reason": .string(reason), "client": ["ip": .string(clientIP)],
        ]
        if let account {
            payload["accountId"] = .string(account.id)
            payload["actor"] = try JSONValue(
                encoding: AuditActor(sub: account.id, type: account.type.rawValue, tenant: account.tenant, tokenId: tokenID, act: nil))
        }
        if let tokenID { payload["tokenId"] = .string(tokenID) }
        try await self.bus.publish(
            try Event(name: "audit.iam.login", serviceName: "iam", payload: JSONValue.object(payload), requestId: requestID, tenant: account?.tenant))
    }
}

/// A bcrypt hash of a random string, made once, to verify against when the user does not exist.
actor DummyHash {
    let hasher: any PasswordHasher
    private var hash: String?

    init(hasher: any PasswordHasher) {
        self.hasher = hasher
    }

    func value() async throws -> String {
        if let hash { return hash }
        let made = try await self.hasher.hash(Identifiers.opaqueToken(prefix: ""))
        self.hash = made
        return made
    }
}
