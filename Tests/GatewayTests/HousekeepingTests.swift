import Foundation
import Gateway
import GatewayKit
import GatewayTestSupport
import IAM
import Messaging
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("Housekeeping")
struct HousekeepingTests {
    @Test(
        "prunes token rows that can never be accepted again, old handled-event markers and old step-log lines, nothing else",
        arguments: Backend.allCases)
    func prune(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let now = Date()
            let day: Int64 = 86_400_000
            let nowMs = Timestamp.milliseconds(now)
            let account = try await env.makeAccount("keeper", password: "keeper-password-1", roles: ["USER"])
            // (id, expires, revoked): which must go and which must stay.
            let rows: [(String, Int64?, Int64?, Bool)] = [
                ("expired-long-ago", nowMs - 2 * day, nil, true),
                ("expired-recently", nowMs - 3_600_000, nil, false),
                ("valid", nowMs + day, nil, false),
                ("revoked-not-expired", nowMs + day, nowMs - 3 * day, false),
                ("persistent-revoked-long-ago", nil, nowMs - 2 * day, true),
                ("persistent-live", nil, nil, false),
            ]
            for (id, expires, revoked, _) in rows {
                try await env.database.execute(
                    """
                    INSERT INTO iam_tokens (id, account_id, kind, token_hash, created_at, expires_at, revoked_at)
                    VALUES (\(id), \(account.id), 'persistent', \("hash-" + id), \(nowMs - 5 * day), \(expires), \(revoked))
                    """
                )
            }
            for (event, age) in [("old", 8 * day), ("recent", day)] {
                try await env.database.execute(
                    "INSERT INTO bus_processed (group_name, event_id, processed_at) VALUES ('g', \(event), \(nowMs - age))")
            }
            for (message, age) in [("old", 8 * day), ("recent", day)] {
                try await env.database.execute(
                    """
                    INSERT INTO bus_queue_journal (queue, event, message_id, attempts, at)
                    VALUES ('flow-f:a:messages', 'enqueued', \(message), 0, \(nowMs - age))
                    """)
            }
            let housekeeping = Housekeeping(
                messages: env.messaging.store, modules: env.modules, clock: WallClock { now }, logger: TestDatabases.logger)
            let pruned = try await housekeeping.prune()
            #expect(pruned == ["tokens": 2, "markers": 1, "step-log": 1])
            #expect(try await env.database.query("SELECT message_id FROM bus_queue_journal").map { try $0.string("message_id") } == ["recent"])
            let left = Set(try await env.database.query("SELECT id FROM iam_tokens").map { try $0.string("id") })
            for (id, _, _, goes) in rows {
                #expect(left.contains(id) == !goes, "\(id)")
            }
            let markers = try await env.database.query("SELECT event_id FROM bus_processed").map { try $0.string("event_id") }
            #expect(markers == ["recent"])
        }
    }
}
