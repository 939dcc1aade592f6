public import Foundation
public import PortcullisCore
public import Storage

/// Counts failed logins per subject (`account:<username>`, `ip:<address>`) in the database, so that every
/// replica sees the same count, and locks a subject for a while once it reaches its limit.
public struct LoginThrottle: Sendable {
    let database: any Database
    let policy: LockoutPolicy
    let now: @Sendable () -> Date

    public init(database: any Database, policy: LockoutPolicy, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.policy = policy
        self.now = now
    }

    static func accountSubject(_ canonicalUsername: String) -> String { "account:\(canonicalUsername)" }
    static func ipSubject(_ address: String) -> String { "ip:\(address)" }

    /// The time left on the longest lock among `subjects`, or nil when none is locked.
    func lockedFor(_ subjects: [String]) async throws -> Duration? {
        let now = Timestamp.milliseconds(self.now())
        let row = try await self.database.first(
            "SELECT MAX(locked_until) AS until FROM iam_lockouts WHERE subject IN (\(list: subjects)) AND locked_until > \(now)"
        )
        guard let until = try row?.optionalInt("until") else { return nil }
        return .milliseconds(until - now)
    }

    /// Records a failure for each subject and locks those that reached their limit within the window.
    func recordFailure(account: String, ip: String) async throws {
        let now = Timestamp.milliseconds(self.now())
        let windowStart = now - Int64(self.policy.window.components.seconds) * 1000
        let lockedUntil = now + Int64(self.policy.duration.components.seconds) * 1000
        try await self.database.transaction { connection in
            for (subject, limit) in [(account, self.policy.accountAttempts), (ip, self.policy.ipAttempts)] {
                try await connection.execute("DELETE FROM iam_login_failures WHERE subject = \(subject) AND failed_at < \(windowStart)")
                try await connection.execute("INSERT INTO iam_login_failures (subject, failed_at) VALUES (\(subject), \(now))")
                let count = try await connection.first("SELECT COUNT(*) AS n FROM iam_login_failures WHERE subject = \(subject)")?.int("n") ?? 0
                if count >= limit {
                    try await connection.execute(
                        """
                        INSERT INTO iam_lockouts (subject, locked_until) VALUES (\(subject), \(lockedUntil))
                        ON CONFLICT (subject) DO UPDATE SET locked_until = excluded.locked_until
                        """
                    )
                    try await connection.execute("DELETE FROM iam_login_failures WHERE subject = \(subject)")
                }
            }
        }
    }

    /// Forgets an account's failures after a successful login (the address keeps its count).
    func recordSuccess(account: String) async throws {
        try await self.database.execute("DELETE FROM iam_login_failures WHERE subject = \(account)")
    }
}
