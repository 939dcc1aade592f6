import Foundation
import NIOHTTP1
import TestSupport
import Testing

@Suite("Identity across replicas, end to end")
struct RevocationEndToEndTests {
    @Test("a token revoked on one replica is refused by the other within a second")
    func revocationAcrossReplicas() async throws {
        let location = try await TestDatabases.create(.postgres)
        var environment = try TestDatabases.environment(for: location)
        environment["PORTCULLIS_DATA_DIR"] = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)").path
        let first = try await PortcullisProcess.start(environment: environment)
        let second = try await PortcullisProcess.start(environment: environment)

        let login = try await HTTP.request(
            .POST, "\(first.baseURL)/login", headers: [("content-type", "application/json")],
            body: #"{"username":"\#(PortcullisProcess.adminUsername)","password":"\#(PortcullisProcess.adminPassword)"}"#
        )
        #expect(login.status == 200)
        let token = try #require(login.json?["token"] as? String)
        let bearer = [("authorization", "Bearer \(token)")]

        // The second replica accepts the token (and now has it in its cache).
        #expect(try await HTTP.request(.GET, "\(second.baseURL)/api/v1/users/me", headers: bearer).status == 200)

        let logout = try await HTTP.request(.POST, "\(first.baseURL)/logout", headers: bearer)
        #expect(logout.status == 200)
        let revokedAt = ContinuousClock.now
        var refused = false
        while ContinuousClock.now - revokedAt < .seconds(1) {
            if try await HTTP.request(.GET, "\(second.baseURL)/api/v1/users/me", headers: bearer).status == 401 {
                refused = true
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(refused, "the other replica still accepted the revoked token a second later")
        #expect(try await first.stop() == 0)
        #expect(try await second.stop() == 0)
        try await TestDatabases.drop(location)
    }

    @Test("tokens signed by one replica verify on the other, and the key survives restarts")
    func sharedKeys() async throws {
        let location = try await TestDatabases.create(.postgres)
        var environment = try TestDatabases.environment(for: location)
        environment["PORTCULLIS_DATA_DIR"] = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)").path
        let first = try await PortcullisProcess.start(environment: environment)
        let login = try await HTTP.request(
            .POST, "\(first.baseURL)/login", headers: [("content-type", "application/json")],
            body: #"{"username":"\#(PortcullisProcess.adminUsername)","password":"\#(PortcullisProcess.adminPassword)"}"#
        )
        let token = try #require(login.json?["token"] as? String)
        #expect(try await first.stop() == 0)
        let restarted = try await PortcullisProcess.start(environment: environment)
        let me = try await HTTP.request(.GET, "\(restarted.baseURL)/api/v1/users/me", headers: [("authorization", "Bearer \(token)")])
        #expect(me.status == 200)
        #expect(!restarted.outputText.contains(token), "tokens never appear in logs")
        #expect(!restarted.outputText.contains(PortcullisProcess.adminPassword), "passwords never appear in logs")
        #expect(try await restarted.stop() == 0)
        try await TestDatabases.drop(location)
    }
}
