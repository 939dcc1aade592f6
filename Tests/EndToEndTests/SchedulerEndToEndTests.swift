import Foundation
import NIOHTTP1
import PortcullisCore
import TestSupport
import Testing

/// "Execute Polling Flow" against the real binary: a cron flow with two replicas on one PostgreSQL fires
/// every due second exactly once, and once for the runs it missed while no replica was up.
@Suite("Scheduler end to end")
struct SchedulerEndToEndTests {
    static let flow = #"""
        {"name":"Every second","cron":"*/1 * * * * *","graph":{"nodes":[{"id":"poll","componentId":"c1","function":"getPersons"}],"edges":[]}}
        """#

    /// The `scheduledFor` seconds (since 1970) of the messages on the flow's first node, leased with its token.
    static func drain(_ server: PortcullisProcess, _ id: String, token: String) async throws -> [Int64] {
        var seconds: [Int64] = []
        while true {
            let leased = try await HTTP.request(
                .POST, "\(server.baseURL)/flows/\(id)/steps/poll/messages/lease",
                headers: [("authorization", "Bearer \(token)"), ("content-type", "application/json")], body: #"{"max":100}"#)
            let items = (leased.json?["data"] as? [[String: Any]]) ?? []
            if items.isEmpty { return seconds.sorted() }
            for item in items {
                let metadata = (item["message"] as? [String: Any])?["metadata"] as? [String: Any]
                if let text = metadata?["scheduledFor"] as? String, let date = Timestamp.parse(text) {
                    seconds.append(Int64(date.timeIntervalSince1970.rounded()))
                }
                // Acked as a component would: a second copy of a due time would then be a new message, and seen.
                let messageID = item["messageId"] as? String ?? ""
                let leaseID = item["leaseId"] as? String ?? ""
                _ = try await HTTP.request(
                    .POST, "\(server.baseURL)/flows/\(id)/steps/poll/messages/\(messageID)/ack",
                    headers: [("authorization", "Bearer \(token)"), ("content-type", "application/json")], body: #"{"leaseId":"\#(leaseID)"}"#)
            }
        }
    }

    static func flowToken(_ server: PortcullisProcess, _ id: String, admin: String) async throws -> String {
        let credentials = try await HTTP.request(.POST, "\(server.baseURL)/flows/\(id)/credentials", headers: [("authorization", "Bearer \(admin)")])
        let data = try #require(credentials.json?["data"] as? [String: Any])
        let clientID = try #require(data["clientId"] as? String)
        let secret = try #require(data["clientSecret"] as? String)
        let token = try await HTTP.request(
            .POST, "\(server.baseURL)/oauth2/token", headers: [("content-type", "application/x-www-form-urlencoded")],
            body: "grant_type=client_credentials&client_id=\(clientID)&client_secret=\(secret)")
        return try #require(token.json?["access_token"] as? String)
    }

    @Test("two replicas fire every due second of a 10 s window exactly once; 5 s of downtime fire once")
    func exactlyOnce() async throws {
        let dataDirectory = ServeEndToEndTests.temporaryDirectory()
        let (environment, location) = try await ServeEndToEndTests.environment(for: .postgres, dataDirectory: dataDirectory)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let first = try await PortcullisProcess.start(environment: environment)
        let second = try await PortcullisProcess.start(environment: environment)
        let admin = try await AuditEndToEndTests.login(first)
        let headers = [("authorization", "Bearer \(admin)"), ("content-type", "application/json")]
        let created = try await HTTP.request(.POST, "\(first.baseURL)/flows", headers: headers, body: Self.flow)
        let id = try #require((created.json?["data"] as? [String: Any])?["id"] as? String)
        #expect(try await HTTP.request(.POST, "\(second.baseURL)/flows/\(id)/start", headers: headers).status == 200)
        #expect(try await eventually(timeout: .seconds(20)) { try await FlowEndToEndTests.status(first, id, token: admin) == "active" })
        let token = try await Self.flowToken(first, id, admin: admin)

        // Drained (and acked) twice a second for 10 s, by turns through each replica: a second firing of a
        // due time would arrive as a new message.
        var window: [Int64] = []
        let end = ContinuousClock.now + .seconds(10)
        var turn = 0
        while ContinuousClock.now < end {
            window += try await Self.drain(turn % 2 == 0 ? first : second, id, token: token)
            turn += 1
            try await Task.sleep(for: .milliseconds(500))
        }
        let endSecond = Int64(Date().timeIntervalSince1970)
        window += try await Self.drain(second, id, token: token)
        window.sort()
        #expect(window.count >= 5, "a 10 s window fired \(window.count) times")
        // Firing went on to the end of the window (late is allowed, a loop that stopped halfway is not).
        #expect(window.last.map { $0 >= endSecond - 3 } == true, "the last second fired is long before the window ended: \(window)")
        #expect(Set(window).count == window.count, "a second fired twice: \(window)")
        #expect(window.last.map { $0 - window.first! + 1 } == Int64(window.count), "a second is missing: \(window)")

        // Both replicas down for 5 s, then one back: the missed runs fire once, not once per missed second.
        #expect(try await first.stop() == 0)
        #expect(try await second.stop() == 0)
        let down = Int64(Date().timeIntervalSince1970)
        try await Task.sleep(for: .seconds(5))
        let restarted = try await PortcullisProcess.start(environment: environment)
        let back = Int64(Date().timeIntervalSince1970)
        try await Task.sleep(for: .seconds(3))
        let after = try await Self.drain(restarted, id, token: token)
        // The seconds that fell due while nobody was up did not each fire. Those up to the lookahead after
        // `down` were written before the stop (leased from their due times on); the one due next fires at the
        // restart, with its own scheduledFor, at most a second after those.
        let ahead: Int64 = 2  // ScheduleRunner.lookahead (the binary is tested from outside)
        let storm = after.filter { $0 > down + ahead + 1 && $0 < back - 1 }
        #expect(storm.isEmpty, "runs missed while down fired one by one: \(after)")
        // Up to the stop, no second is missing.
        let beforeRestart = [window.last!] + after.filter { $0 < back - 1 }
        #expect(beforeRestart.last! - beforeRestart.first! + 1 == Int64(beforeRestart.count), "a second is missing before the stop: \(after)")
        #expect(after.filter { $0 >= back }.count >= 1, "firing goes on after the restart: \(after)")
        #expect(Set(after).count == after.count, "a second fired twice: \(after)")
        #expect(Set(after).isDisjoint(with: Set(window)))

        // Stopped: nothing more.
        #expect(try await HTTP.request(.POST, "\(restarted.baseURL)/flows/\(id)/stop", headers: headers).status == 200)
        #expect(try await eventually(timeout: .seconds(20)) { try await FlowEndToEndTests.status(restarted, id, token: admin) == "inactive" })
        #expect(try await restarted.stop() == 0)
        try await TestDatabases.drop(location)
    }
}
