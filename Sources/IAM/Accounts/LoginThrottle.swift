public import Foundation
public import Logging
public import PortcullisCore
public import Storage
import Synchronization

/// Counts login attempts per subject (`account:<username>`, `ip:<address>`) in the database, so that every
/// replica shares the count, and locks a subject once it reaches its limit.
///
/// An attempt is **reserved before the password is checked**: one atomic upsert per subject counts it, and an
/// attempt over the limit is refused without any bcrypt work. So however many guesses arrive at once, at most
/// the configured number per account and per address are ever checked within the window. A reservation is
/// then settled: a failure keeps its count (and locks the subject at the limit), a success gives it back.
public struct LoginThrottle: Sendable {
    /// Two subjects counted for one attempt.
    public struct Reservation: Sendable {
        let account: String
        let ip: String
    }

    let database: any Database
    let policy: LockoutPolicy
    let clock: WallClock
    let logger: Logger
    private let lastPrune = LastPrune()

    private final class LastPrune: Sendable {
        let date = Mutex<Date>(.distantPast)
    }

    public init(database: any Database, policy: LockoutPolicy, logger: Logger, clock: WallClock) {
        self.database = database
        self.policy = policy
        self.logger = logger
        self.clock = clock
    }

    static func accountSubject(_ canonicalUsername: String) -> String { "account:\(canonicalUsername)" }
    static func ipSubject(_ address: String) -> String { "ip:\(address)" }

    private struct Refused: Error {
        let retryAfter: Duration
    }

    /// Counts one attempt for the account and the address, or refuses it (nothing counted) with the time
    /// until one may try again.
    func reserve(account: String, ip: String) async throws -> Result<Reservation, LoginService.Failure> {
        let now = Timestamp.milliseconds(self.clock.now)
        let window = Int64(self.policy.window.components.seconds) * 1000
        // A locked subject is refused with a read: a flood of attempts on a locked account costs no writes.
        let lock = try await self.database.first(
            "SELECT MAX(locked_until) AS until FROM iam_login_attempts WHERE subject IN (\(list: [account, ip])) AND locked_until > \(now)")
        if let until = try lock?.optionalInt("until") {
            return .failure(.locked(retryAfter: .milliseconds(until - now)))
        }
        do {
            return try await self.countAttempt(account: account, ip: ip, now: now, window: window)
        } catch StorageError.serializationFailure {
            // PostgreSQL broke a lock cycle (with a concurrent prune, say): one more try, then it is an error.
            return try await self.countAttempt(account: account, ip: ip, now: now, window: window)
        }
    }

    private func countAttempt(account: String, ip: String, now: Int64, window: Int64) async throws -> Result<Reservation, LoginService.Failure> {
        do {
            try await self.database.transaction { connection in
                for (subject, limit) in [(account, self.policy.accountAttempts), (ip, self.policy.ipAttempts)] {
                    // Throwing rolls back this attempt's counts: a refused attempt is not counted.
                    if let retryAfter = try await Self.count(subject, limit: limit, now: now, window: window, on: connection) {
                        throw Refused(retryAfter: retryAfter)
                    }
                }
            }
        } catch let refused as Refused {
            return .failure(.locked(retryAfter: refused.retryAfter))
        }
        return .success(Reservation(account: account, ip: ip))
    }

    /// One atomic upsert: a new window when the last one is over (or its lock ran out), otherwise one more
    /// attempt. Returns how long to wait when the subject is locked or its window is used up.
    private static func count(_ subject: String, limit: Int, now: Int64, window: Int64, on connection: any DatabaseConnection) async throws
        -> Duration?
    {
        let cutoff = now - window
        let row = try await connection.first(
            """
            INSERT INTO iam_login_attempts (subject, window_start, attempts, locked_until) VALUES (\(subject), \(now), 1, 0)
            ON CONFLICT (subject) DO UPDATE SET
                attempts = CASE WHEN iam_login_attempts.locked_until > \(now) THEN iam_login_attempts.attempts
                    WHEN iam_login_attempts.locked_until > 0 OR iam_login_attempts.window_start <= \(cutoff) THEN 1
                    ELSE iam_login_attempts.attempts + 1 END,
                window_start = CASE WHEN iam_login_attempts.locked_until > \(now) THEN iam_login_attempts.window_start
                    WHEN iam_login_attempts.locked_until > 0 OR iam_login_attempts.window_start <= \(cutoff) THEN \(now)
                    ELSE iam_login_attempts.window_start END,
                locked_until = CASE WHEN iam_login_attempts.locked_until > \(now) THEN iam_login_attempts.locked_until ELSE 0 END
            RETURNING attempts, window_start, locked_until
            """
        )
        guard let row else { return nil }
        let lockedUntil = try row.int("locked_until")
        if lockedUntil > now { return .milliseconds(lockedUntil - now) }
        if try row.int("attempts") > Int64(limit) { return .milliseconds(max(1000, try row.int("window_start") + window - now)) }
        return nil
    }

    /// A wrong password: the attempt stays counted, and a subject at its limit is locked for the lockout duration.
    func settleFailure(_ reservation: Reservation) async throws {
        let now = Timestamp.milliseconds(self.clock.now)
        let lockedUntil = now + Int64(self.policy.duration.components.seconds) * 1000
        try await self.database.transaction { connection in
            for (subject, limit) in [(reservation.account, self.policy.accountAttempts), (reservation.ip, self.policy.ipAttempts)] {
                try await connection.execute(
                    "UPDATE iam_login_attempts SET locked_until = \(lockedUntil) WHERE subject = \(subject) AND attempts >= \(limit)")
            }
        }
        await self.pruneNow(now: now)
    }

    /// A right password: the account starts afresh and the address gets its attempt back.
    func settleSuccess(_ reservation: Reservation) async throws {
        try await self.database.transaction { connection in
            try await connection.execute("DELETE FROM iam_login_attempts WHERE subject = \(reservation.account)")
            try await self.giveBack(reservation.ip, on: connection)
        }
    }

    /// The password was never checked (the hashing pool was full): both subjects get their attempt back.
    func release(_ reservation: Reservation) async throws {
        try await self.database.transaction { connection in
            try await self.giveBack(reservation.account, on: connection)
            try await self.giveBack(reservation.ip, on: connection)
        }
    }

    private func giveBack(_ subject: String, on connection: any DatabaseConnection) async throws {
        try await connection.execute(
            "UPDATE iam_login_attempts SET attempts = attempts - 1 WHERE subject = \(subject) AND attempts > 0 AND locked_until = 0")
    }

    /// Deletes counters whose window and lock are over, at most once a minute per process. Best effort:
    /// a prune that fails is retried at the next minute, and never fails the login that triggered it.
    private func pruneNow(now: Int64) async {
        let due = self.lastPrune.date.withLock { last in
            guard self.clock.now.timeIntervalSince(last) >= 60 else { return false }
            last = self.clock.now
            return true
        }
        guard due else { return }
        do {
            try await self.prune(now: now)
        } catch {
            self.logger.notice("pruning login counters failed; trying again later", metadata: ["error": "\(error)"])
        }
    }

    /// Deletes every counter whose window has passed and whose lock, if any, has run out. On PostgreSQL rows
    /// that a login holds right now are skipped (`SKIP LOCKED`), so a prune never waits on, or deadlocks
    /// with, a reservation.
    func prune(now: Int64) async throws {
        let cutoff = now - Int64(self.policy.window.components.seconds) * 1000
        switch self.database.dialect {
        case .postgres:
            try await self.database.execute(
                """
                DELETE FROM iam_login_attempts WHERE subject IN (
                    SELECT subject FROM iam_login_attempts WHERE window_start <= \(cutoff) AND locked_until <= \(now) FOR UPDATE SKIP LOCKED)
                """
            )
        case .sqlite:
            try await self.database.execute("DELETE FROM iam_login_attempts WHERE window_start <= \(cutoff) AND locked_until <= \(now)")
        }
    }
}
