import Foundation
import NIOCore
import NIOHTTP1
import PortcullisCore
import TestSupport
import Testing

/// The concurrency attacks on IAM, with real concurrent requests against the real binary and real bcrypt.
@Suite("Logins and refreshes under concurrency, end to end")
struct LoginConcurrencyEndToEndTests {
    static let json = [("content-type", "application/json")]
    static let form = [("content-type", "application/x-www-form-urlencoded")]

    /// Runs `body` against a fresh `portcullis serve` on `backend` with `extra` in its environment.
    static func withServer(_ backend: Backend, _ extra: [String: String] = [:], _ body: (PortcullisProcess) async throws -> Void) async throws {
        let dataDirectory = ServeEndToEndTests.temporaryDirectory()
        let (environment, location) = try await ServeEndToEndTests.environment(for: backend, dataDirectory: dataDirectory)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let server = try await PortcullisProcess.start(environment: environment.merging(extra) { _, new in new })
        do {
            try await body(server)
        } catch {
            _ = try? await server.stop()
            try? await TestDatabases.drop(location)
            throw error
        }
        #expect(try await server.stop() == 0)
        try await TestDatabases.drop(location)
    }

    /// Logs in as the admin. Admitted logins queue for the hashing threads, and on a loaded CI machine one bcrypt at
    /// cost 12 can take seconds, so the bound is a hang detector, not a speed check.
    static func login(_ server: PortcullisProcess, password: String = PortcullisProcess.adminPassword) async throws -> HTTPResult {
        let body = try JSONSerialization.data(withJSONObject: ["username": PortcullisProcess.adminUsername, "password": password])
        return try await HTTP.request(
            .POST, "\(server.baseURL)/login", headers: Self.json, body: String(decoding: body, as: UTF8.self), timeout: .seconds(120))
    }

    @Test("40 concurrent wrong passwords for one account: at most 5 are checked, the rest are refused", arguments: Backend.allCases)
    func concurrentGuesses(backend: Backend) async throws {
        try await Self.withServer(backend, ["PORTCULLIS_LOCKOUT_IP_ATTEMPTS": "1000"]) { server in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<40 {
                    group.addTask { try await Self.login(server, password: "wrong-guess-\(index)").status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            // Refused: 429 over the lockout, or 503 past the checks one address may have under way at once.
            #expect(statuses.filter { $0 == 401 }.count <= 5, "\(statuses.sorted())")
            #expect(statuses.filter { $0 == 429 || $0 == 503 }.count >= 35)
            #expect(statuses.allSatisfy { $0 == 401 || $0 == 429 || $0 == 503 })
            #expect(try await Self.login(server).status == 429, "the account is locked, even for the right password")
        }
    }

    @Test("two concurrent uses of one refresh token: one wins, the other is reuse and ends the family", arguments: Backend.allCases)
    func concurrentRefresh(backend: Backend) async throws {
        try await Self.withServer(backend) { server in
            let password = "grant_type=password&username=\(PortcullisProcess.adminUsername)&password=\(PortcullisProcess.adminPassword)"
            let grant = try await HTTP.request(.POST, "\(server.baseURL)/oauth2/token", headers: Self.form, body: password)
            let refresh = try #require(grant.json?["refresh_token"] as? String)
            let results = try await withThrowingTaskGroup(of: HTTPResult.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await HTTP.request(
                            .POST, "\(server.baseURL)/oauth2/token", headers: Self.form, body: "grant_type=refresh_token&refresh_token=\(refresh)")
                    }
                }
                return try await group.reduce(into: [HTTPResult]()) { $0.append($1) }
            }
            #expect(results.filter { $0.status == 200 }.count == 1, "\(results.map(\.status))")
            #expect(results.filter { $0.json?["error"] as? String == "invalid_grant" }.count == 1)
            let winner = try #require(results.first { $0.status == 200 })
            let access = try #require(winner.json?["access_token"] as? String)
            let me = try await HTTP.request(.GET, "\(server.baseURL)/api/v1/users/me", headers: [("authorization", "Bearer \(access)")])
            #expect(me.status == 401, "reuse revoked the family, the winner's tokens included")
        }
    }

    @Test("a login flood is shed at the door with Retry-After, and no other request is refused or times out", arguments: Backend.allCases)
    func loginFlood(backend: Backend) async throws {
        let settings = [
            "PORTCULLIS_PASSWORD_HASH_THREADS": "1", "PORTCULLIS_PASSWORD_HASH_QUEUE": "2",
            "PORTCULLIS_LOCKOUT_IP_ATTEMPTS": "10000", "PORTCULLIS_LOCKOUT_ACCOUNT_ATTEMPTS": "10000",
        ]
        try await Self.withServer(backend, settings) { server in
            let token = try #require(try await Self.login(server).json?["token"] as? String)
            enum Outcome: Sendable {
                case login(Int, retryAfter: String?)
                case protected(Int)
            }
            let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
                for _ in 0..<48 {
                    group.addTask {
                        let response = try await Self.login(server)
                        return .login(response.status, retryAfter: response.headers.first(name: "retry-after"))
                    }
                    group.addTask {
                        let me = try await HTTP.request(
                            .GET, "\(server.baseURL)/api/v1/users/me", headers: [("authorization", "Bearer \(token)")], timeout: .seconds(120))
                        return .protected(me.status)
                    }
                }
                return try await group.reduce(into: [Outcome]()) { $0.append($1) }
            }
            var shed = 0
            for outcome in outcomes {
                switch outcome {
                case .protected(let status):
                    #expect(status == 200, "a protected request was refused during the flood")
                case .login(let status, let retryAfter):
                    #expect(status == 200 || status == 503, "login answered \(status)")
                    if status == 503 {
                        shed += 1
                        #expect(retryAfter != nil, "a shed login says when to come back")
                    }
                }
            }
            #expect(shed > 0, "48 logins at once on one hashing thread with a queue of 2 must shed some")
        }
    }
}
