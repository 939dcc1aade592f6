import Foundation
import NIOHTTP1
import PortcullisCore
import TestSupport
import Testing

/// `PORTCULLIS_TRUSTED_PROXIES` with the real binary: the test's client connects from 127.0.0.1, which
/// plays the last proxy.
@Suite("Client addresses behind proxies, end to end")
struct ClientAddressEndToEndTests {
    /// The client address of the route record of `requestID`.
    static func recordedClient(_ server: PortcullisProcess, _ requestID: String, token: String) async throws -> String? {
        let logs = try await HTTP.request(
            .GET, "\(server.baseURL)/logs?filter%5BrequestId%5D=\(requestID)", headers: [("authorization", "Bearer \(token)")])
        let records = (logs.json?["data"] as? [[String: Any]]) ?? []
        return (records.first { $0["stage"] as? String == "route" }?["client"] as? [String: Any])?["ip"] as? String
    }

    static func call(_ server: PortcullisProcess, requestID: String, forwardedFor: String, token: String) async throws -> Int {
        try await HTTP.request(
            .GET, "\(server.baseURL)/api/v1/users/me",
            headers: [("authorization", "Bearer \(token)"), ("x-request-id", requestID), ("x-forwarded-for", forwardedFor)]
        ).status
    }

    static func wrongLogin(_ server: PortcullisProcess, forwardedFor: String) async throws -> Int {
        try await HTTP.request(
            .POST, "\(server.baseURL)/login", headers: [("content-type", "application/json"), ("x-forwarded-for", forwardedFor)],
            body: #"{"username":"nobody-here","password":"wrong-password-1"}"#
        ).status
    }

    @Test("a trusted proxy chain names the client in records, logs and login throttling; without trusted proxies the header is ignored")
    func proxies() async throws {
        let trustingDirectory = ServeEndToEndTests.temporaryDirectory()
        let plainDirectory = ServeEndToEndTests.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: trustingDirectory)
            try? FileManager.default.removeItem(atPath: plainDirectory)
        }
        let throttle = ["PORTCULLIS_LOCKOUT_IP_ATTEMPTS": "2", "PORTCULLIS_LOCKOUT_ACCOUNT_ATTEMPTS": "1000"]
        let trusting = try await PortcullisProcess.start(
            environment: ["PORTCULLIS_DATA_DIR": trustingDirectory, "PORTCULLIS_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"].merging(throttle) { $1 })
        let token = try await AuditEndToEndTests.login(trusting)
        // client 203.0.113.9 → proxy 10.1.2.3 → proxy 127.0.0.1 → gateway; the client wrote 6.6.6.6 itself.
        #expect(try await Self.call(trusting, requestID: "via-proxies", forwardedFor: "6.6.6.6, 203.0.113.9, 10.1.2.3", token: token) == 200)
        #expect(try await Self.recordedClient(trusting, "via-proxies", token: token) == "203.0.113.9")
        // Login throttling counts the forwarded client: one address locked out, another still heard.
        var first: [Int] = []
        for _ in 0..<4 { first.append(try await Self.wrongLogin(trusting, forwardedFor: "198.51.100.1")) }
        #expect(first.last == 429, "\(first)")
        #expect(try await Self.wrongLogin(trusting, forwardedFor: "198.51.100.2") == 401, "another client behind the proxy is not locked out")
        #expect(try await trusting.stop() == 0)
        #expect(trusting.outputText.contains("\"client.ip\":\"203.0.113.9\""), "the request's log lines carry the client address")

        let plain = try await PortcullisProcess.start(environment: ["PORTCULLIS_DATA_DIR": plainDirectory].merging(throttle) { $1 })
        let plainToken = try await AuditEndToEndTests.login(plain)
        #expect(try await Self.call(plain, requestID: "spoofed", forwardedFor: "203.0.113.9", token: plainToken) == 200)
        #expect(try await Self.recordedClient(plain, "spoofed", token: plainToken) == "127.0.0.1")
        // A spoofed header does not escape throttling: every attempt counts against the peer.
        var spoofed: [Int] = []
        for index in 0..<4 { spoofed.append(try await Self.wrongLogin(plain, forwardedFor: "198.51.100.\(index)")) }
        #expect(spoofed.last == 429, "\(spoofed)")
        #expect(try await plain.stop() == 0)
        #expect(plain.outputText.contains("\"client.ip\":\"127.0.0.1\""))
        #expect(!plain.outputText.contains("203.0.113.9"))
    }
}
