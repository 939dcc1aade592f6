import Foundation
public import Logging
public import Messaging
public import PortcullisCore
public import Storage
import Synchronization

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
        /// The password-hashing pool is full (a login flood): try again after this many seconds.
        case busy(retryAfter: Int)
    }

    /// Longest username and password a login looks at; longer ones are refused before any database or
    /// bcrypt work (an email address has at most 320 bytes; bcrypt reads 72, the rest is slack).
    public static let maximumUsernameBytes = 320
    public static let maximumPasswordBytes = 1024

    /// Password checks one client address may have under way at once (on this replica): a single address,
    /// even with a valid password, cannot hold the whole hashing pool and shut logins for everyone else.
    public static let maximumChecksPerAddress = 8

    let accounts: AccountStore
    let hasher: any PasswordHasher
    let throttle: LoginThrottle
    let checksInFlight = ChecksInFlight()
    let issuer: TokenIssuer
    let bus: any EventBus
    let clock: WallClock
    let dummyHash: DummyHash
    let logger: Logger

    public init(
        accounts: AccountStore, hasher: any PasswordHasher, throttle: LoginThrottle, issuer: TokenIssuer, bus: any EventBus, clock: WallClock,
        logger: Logger
    ) {
        self.accounts = accounts
        self.clock = clock
        self.hasher = hasher
        self.throttle = throttle
        self.issuer = issuer
        self.bus = bus
        self.dummyHash = DummyHash(hasher: hasher)
        self.logger = logger
    }

    /// What is wrong with a login's input before anything is looked up, or nil: too long, or a password
    /// with a NUL byte (bcrypt would ignore everything after it).
    public static func problem(username: String, password: String) -> String? {
        if username.utf8.count > Self.maximumUsernameBytes { return "username may have at most \(Self.maximumUsernameBytes) bytes." }
        if password.utf8.count > Self.maximumPasswordBytes { return "password may have at most \(Self.maximumPasswordBytes) bytes." }
        if password.utf8.contains(0) { return "password must not contain a NUL character." }
        return nil
    }

    /// Whole seconds to wait, rounded up, at least 1 (for `Retry-After`).
    public static func seconds(_ duration: Duration) -> Int {
        max(1, Int((Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18).rounded(.up)))
    }

    /// Checks the credentials and issues an access token that starts a session (of `lineage.familyID`, when
    /// the OAuth password grant pairs it with a refresh token).
    /// What a login hands out: an access token that starts a session and, for the OAuth password grant, a
    /// refresh token of a new family in the same session.
    public struct Session: Sendable {
        public let access: TokenIssuer.Issued
        public let refresh: TokenIssuer.Issued?
    }

    /// A proven password: the account, and the hash it was proven against.
    public struct Authenticated: Sendable {
        public let account: Account
        let passwordHash: String
    }

    /// Checks the credentials and issues the session's tokens.
    ///
    /// The tokens are issued in a transaction that holds the account's row and finds its password hash
    /// unchanged: a password reset either commits first (this login is refused) or waits for it and then
    /// revokes what it issued. So an old password never opens a session that survives the reset.
    public func login(
        username: String, password: String, clientIP: String, requestID: String?, withRefreshToken: Bool = false
    ) async throws -> Session {
        let proven: Authenticated
        do {
            proven = try await self.authenticate(username: username, password: password, clientIP: clientIP)
        } catch let failure as Failure {
            // A shed login was never checked: the request's route-level decision record is its trace, and no
            // login record is written, so that a flood costs no extra database work.
            if case .busy = failure { throw failure }
            let reason = if case .locked = failure { "TOO_MANY_ATTEMPTS" } else { "INVALID_CREDENTIALS" }
            try await self.audit(outcome: "deny", reason: reason, account: nil, clientIP: clientIP, requestID: requestID)
            throw failure
        }
        let account = proven.account
        guard try await self.accounts.isEnabled(account) else {
            try await self.audit(outcome: "deny", reason: "ACCOUNT_DISABLED", account: account, clientIP: clientIP, requestID: requestID)
            throw Failure.accountDisabled
        }
        guard let session = try await self.issue(for: proven, withRefreshToken: withRefreshToken) else {
            try await self.audit(outcome: "deny", reason: "INVALID_CREDENTIALS", account: nil, clientIP: clientIP, requestID: requestID)
            throw Failure.invalidCredentials
        }
        if self.hasher.needsRehash(proven.passwordHash) {
            // Only while the hash is still the one proven: a reset in between wins.
            let newHash = try await self.hasher.hash(password)
            try await self.accounts.replacePasswordHash(accountID: account.id, from: proven.passwordHash, to: newHash)
        }
        try await self.audit(
            outcome: "allow", reason: "LOGIN", account: account, clientIP: clientIP, requestID: requestID, tokenID: session.access.record.id)
        return session
    }

    /// The session's tokens, issued in a transaction that holds the account's row and finds its password
    /// hash still the one `proven` was checked against; nil when the password changed meanwhile.
    func issue(for proven: Authenticated, withRefreshToken: Bool) async throws -> Session? {
        let issuer = self.issuer
        return try await self.accounts.database.transaction { connection -> Session? in
            guard try await AccountStore.passwordHash(of: proven.account.id, lockedOn: connection) == proven.passwordHash else { return nil }
            let access = try await issuer.accessToken(
                for: proven.account, lineage: TokenIssuer.Lineage(familyID: withRefreshToken ? Identifiers.objectID() : nil), on: connection)
            let refresh =
                withRefreshToken ? try await issuer.refreshToken(for: proven.account, scope: nil, lineage: access.lineage, on: connection) : nil
            return Session(access: access, refresh: refresh)
        }
    }

    /// The account whose password this is, with the attempt counted against the lockout of the account and
    /// of the address first (reserved before bcrypt runs, so concurrent guesses cannot outrun the count).
    /// Unknown users cost the same bcrypt work as known ones, so timing does not tell them apart.
    public func authenticate(username: String, password: String, clientIP: String) async throws -> Authenticated {
        guard Self.problem(username: username, password: password) == nil else { throw Failure.invalidCredentials }
        guard !self.hasher.isSaturated, self.checksInFlight.enter(clientIP, limit: Self.maximumChecksPerAddress) else {
            throw Failure.busy(retryAfter: 1)
        }
        defer { self.checksInFlight.leave(clientIP) }
        let canonical = Username.canonical(username)
        let reservation: LoginThrottle.Reservation
        switch try await self.throttle.reserve(account: LoginThrottle.accountSubject(canonical), ip: LoginThrottle.ipSubject(clientIP)) {
        case .failure(let failure): throw failure
        case .success(let reserved): reservation = reserved
        }
        let credentials: AccountStore.Credentials?
        let matches: Bool
        let hash: String
        do {
            credentials = try await self.accounts.credentials(username: canonical)
            if let stored = credentials?.passwordHash {
                hash = stored
            } else {
                hash = try await self.dummyHash.value()
            }
            matches = try await self.hasher.verify(password, against: hash) && credentials?.passwordHash != nil
        } catch is PasswordHashingPool.Busy {
            // The password was never checked: the attempt does not count.
            try await self.throttle.release(reservation)
            throw Failure.busy(retryAfter: 1)
        } catch {
            try? await self.throttle.release(reservation)
            throw error
        }
        guard matches, let account = credentials?.account else {
            try await self.throttle.settleFailure(reservation)
            throw Failure.invalidCredentials
        }
        try await self.throttle.settleSuccess(reservation)
        return Authenticated(account: account, passwordHash: hash)
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
                encoding: AuditActor(sub: account.id, type: account.type.rawValue, tenant: account.tenant, tokenID: tokenID, act: nil))
        }
        if let tokenID { payload["tokenId"] = .string(tokenID) }
        try await self.bus.publish(
            try Event(
                name: "audit.iam.login", serviceName: "iam", payload: JSONValue.object(payload), requestID: requestID, tenant: account?.tenant,
                now: self.clock.now))
    }
}
