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

    @Test("a trusted proxy chain names the client in records and logs; without trusted proxies the header is ignored")
    func proxies() async throws {
        let trustingDirectory = ServeEndToEndTests.temporaryDirectory()
        let plainDirectory = ServeEndToEndTests.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: trustingDirectory)
            try? FileManager.default.removeItem(atPath: plainDirectory)
        }
        let trusting = try await PortcullisProcess.start(environment: [
            "PORTCULLIS_DATA_DIR": trustingDirectory, "PORTCULLIS_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
        ])
        let token = try await AuditEndToEndTests.login(trusting)
        // client 203.0.113.9 → proxy 10.1.2.3 → proxy 127.0.0.1 → gateway; the client wrote 6.6.6.6 itself.
        #expect(try await Self.call(trusting, requestID: "via-proxies", forwardedFor: "6.6.6.6, 203.0.113.9, 10.1.2.3", token: token) == 200)
        #expect(try await Self.recordedClient(trusting, "via-proxies", token: token) == "203.0.113.9")
        #expect(trusting.outputText.contains("203.0.113.9"), "the request's log lines carry the client address")
        #expect(try await trusting.stop() == 0)

        let plain = try await PortcullisProcess.start(environment: ["PORTCULLIS_DATA_DIR": plainDirectory])
        let plainToken = try await AuditEndToEndTests.login(plain)
        #expect(try await Self.call(plain, requestID: "spoofed", forwardedFor: "203.0.113.9", token: plainToken) == 200)
        #expect(try await Self.recordedClient(plain, "spoofed", token: plainToken) == "127.0.0.1")
        #expect(!plain.outputText.contains("203.0.113.9"))
        #expect(try await plain.stop() == 0)
    }
}
