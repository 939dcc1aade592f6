import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PortcullisCore
import Storage
import Synchronization
import TestSupport
import Testing

@testable import IAM

/// Counts the password checks that actually run, so that a test can see bcrypt was never reached.
final class CountingHasher: PasswordHasher {
    let inner = BcryptPasswordHasher(cost: 4)
    let verifications = Mutex(0)

    func hash(_ password: String) async throws -> String {
        try await self.inner.hash(password)
    }

    func verify(_ password: String, against hash: String) async throws -> Bool {
        self.verifications.withLock { $0 += 1 }
        return try await self.inner.verify(password, against: hash)
    }

    func needsRehash(_ hash: String) -> Bool {
        self.inner.needsRehash(hash)
    }
}

@Suite("Lockout under concurrency, and login input limits")
struct LockoutConcurrencyTests {
    @Test("60 concurrent wrong guesses for one account: at most 5 passwords are checked, the rest refused", arguments: Backend.allCases)
    func concurrentGuesses(backend: Backend) async throws {
        let hasher = CountingHasher()
        try await withIdentityGateway(backend, lockout: LockoutPolicy(accountAttempts: 5, ipAttempts: 1000), hasher: hasher) { env in
            _ = try await env.makeAccount("victim", password: "victim-password-1")
            let before = hasher.verifications.withLock { $0 }
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        try await env.post("/login", json: ["username": "victim", "password": .string("guess-number-\(index)")]).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            let checked = hasher.verifications.withLock { $0 } - before
            #expect(checked <= 5, "bcrypt ran \(checked) times")
            // Refused: 429 over the lockout, or 503 past the checks one address may have under way at once.
            #expect(statuses.filter { $0 == .unauthorized }.count <= 5)
            #expect(statuses.filter { $0 == .tooManyRequests || $0 == .serviceUnavailable }.count >= 55)
            #expect(statuses.allSatisfy { $0 == .unauthorized || $0 == .tooManyRequests || $0 == .serviceUnavailable })
            // Locked now, even for the right password.
            #expect(try await env.post("/login", json: ["username": "victim", "password": "victim-password-1"]).status == .tooManyRequests)
        }
    }

    @Test("oversized usernames and passwords and NUL bytes are 400 before any lookup or bcrypt", arguments: Backend.allCases)
    func inputLimits(backend: Backend) async throws {
        let hasher = CountingHasher()
        try await withIdentityGateway(backend, hasher: hasher) { env in
            let before = hasher.verifications.withLock { $0 }
            let bodies: [JSONValue] = [
                ["username": .string(String(repeating: "u", count: 321)), "password": "whatever-password"],
                ["username": "admin", "password": .string(String(repeating: "p", count: 1025))],
                ["username": "admin", "password": "admin-password\u{0}-for-tests"],
            ]
            for body in bodies {
                let response = try await env.post("/login", json: body)
                #expect(response.status == .badRequest)
            }
            let form = try await OAuthTests.form(
                env, "/oauth2/token", [("grant_type", "password"), ("username", String(repeating: "u", count: 400)), ("password", "x")])
            #expect(form.json?["error"] == "invalid_request")
            #expect(hasher.verifications.withLock { $0 } == before, "no password was checked")
            // A NUL byte cannot be set as a password either: bcrypt would ignore what follows it.
            let admin = try await env.adminToken()
            let created = try await env.post("/api/v1/users", json: ["username": "nul", "password": "abcdefghijkl\u{0}mnop"], token: admin)
            #expect(created.status == .badRequest)
            #expect(created.errorReason == "WEAK_PASSWORD")
        }
    }

    @Test("attempt counters are pruned once their window and lock are over", arguments: Backend.allCases)
    func pruning(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            try await MigrationRunner(database: database, migrations: IAMMigrations.all, logger: TestDatabases.logger).migrate()
            let start = Date()
            let clock = Mutex(start)
            let throttle = LoginThrottle(
                database: database, policy: LockoutPolicy(accountAttempts: 2, ipAttempts: 10, window: .seconds(60), duration: .seconds(60)),
                logger: TestDatabases.logger, clock: WallClock { clock.withLock { $0 } })
            for _ in 0..<2 {
                guard case .success(let reservation) = try await throttle.reserve(account: "account:a", ip: "ip:1") else {
                    Issue.record("the first two attempts are allowed")
                    return
                }
                try await throttle.settleFailure(reservation)
            }
            guard case .failure(.locked) = try await throttle.reserve(account: "account:a", ip: "ip:1") else {
                Issue.record("the third attempt is refused")
                return
            }
            let count: @Sendable () async throws -> Int64 = {
                try await database.first("SELECT COUNT(*) AS n FROM iam_login_attempts")?.int("n") ?? -1
            }
            try await throttle.prune(now: Timestamp.milliseconds(start.addingTimeInterval(30)))
            #expect(try await count() == 2, "inside the window nothing is pruned")
            try await throttle.prune(now: Timestamp.milliseconds(start.addingTimeInterval(121)))
            #expect(try await count() == 0)
            clock.withLock { $0 = start.addingTimeInterval(121) }
            guard case .success = try await throttle.reserve(account: "account:a", ip: "ip:1") else {
                Issue.record("after the lock an attempt is allowed again")
                return
            }
        }
    }

    @Test("a full hashing pool refuses at once instead of queueing")
    func hashingPoolSheds() async throws {
        let pool = PasswordHashingPool(threads: 1, queueLimit: 1)
        let gate = Mutex(false)
        async let first: Int = pool.run {
            while !gate.withLock({ $0 }) { usleep(1000) }
            return 1
        }
        async let second: Int = pool.run { 2 }
        _ = await eventually(timeout: .seconds(10)) { pool.inFlight == 2 }
        await #expect(throws: PasswordHashingPool.Busy.self) { try await pool.run { 3 } }
        gate.withLock { $0 = true }
        #expect(try await first + second == 3)
        #expect(try await pool.run { 4 } == 4)
    }
}
