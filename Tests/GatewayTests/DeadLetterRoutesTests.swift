import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Messaging
import PortcullisCore
import TestSupport
import Testing

@Suite("Dead-letter administration over HTTP")
struct DeadLetterRoutesTests {
    /// Makes one dead letter in `queue` and returns its id.
    static func deadLetter(_ env: IdentityEnvironment, queue: String = "orders:messages", id: String = "m1") async throws -> String {
        try await env.messaging.queues.enqueue(queue, messageID: id, message: ["n": 1], on: nil)
        let message = try #require(try await env.messaging.queues.lease(queue, max: 1, visibility: .seconds(30), wait: .zero).first)
        _ = try await env.messaging.store.nack(queue: queue, seq: message.seq, leaseID: message.leaseID, delay: .zero, maxAttempts: 1, error: "boom")
        return try #require(try await env.messaging.store.deadLetters(offset: 0, limit: 1).items.first).id
    }

    @Test("anonymous callers get 401 and callers without the permission 403", arguments: Backend.allCases)
    func protected(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            #expect(try await env.get("/api/v1/bus/dead-letters").status == .unauthorized)
            _ = try await env.makeAccount("plain", password: "plain-password-12")
            let token = try await env.login("plain", "plain-password-12")
            let forbidden = try await env.get("/api/v1/bus/dead-letters", token: token)
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.errorReason == "MISSING_PERMISSION")
            let tenantAdmin = try await env.makeAccount("tadmin", password: "tadmin-password-1", roles: ["TENANT_ADMIN"], tenant: "t1")
            _ = tenantAdmin
            let tenantToken = try await env.login("tadmin", "tadmin-password-1")
            #expect(
                try await env.get("/api/v1/bus/dead-letters", token: tenantToken).status == .forbidden, "restricted: tenant admins do not hold it")
        }
    }

    @Test("a platform admin lists, pages, replays and purges dead letters", arguments: Backend.allCases)
    func manage(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let token = try await env.adminToken()
            let first = try await Self.deadLetter(env, id: "m1")
            let second = try await Self.deadLetter(env, id: "m2")

            let list = try await env.get("/api/v1/bus/dead-letters?page[size]=1", token: token)
            #expect(list.status == .ok)
            #expect(list.json?["meta"] == ["total": 2, "page": 1, "perPage": 1, "totalPages": 2])
            #expect(list.json?["data"]?.arrayValue?.first?["id"]?.stringValue == second)
            #expect(list.json?["data"]?.arrayValue?.first?["lastError"] == "boom")
            #expect(list.json?["data"]?.arrayValue?.first?["message"] == ["n": 1])

            let replay = try await env.post("/api/v1/bus/dead-letters/\(first)/replay", json: [:], token: token)
            #expect(replay.status == .ok)
            #expect(try await env.messaging.queues.depth("orders:messages") == 1)

            let purge = try await env.client.execute(
                uri: "/api/v1/bus/dead-letters/\(second)", method: .delete, headers: [.authorization: "Bearer \(token)"]
            )
            #expect(purge.status == .noContent)
            #expect(try await env.messaging.store.deadLetters(offset: 0, limit: 10).total == 0)
        }
    }

    @Test("unknown and malformed ids are 404; bad paging is 400", arguments: Backend.allCases)
    func badInput(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let token = try await env.adminToken()
            for id in ["999999", "abc", "-1", "0", "1e3"] {
                let replay = try await env.post("/api/v1/bus/dead-letters/\(id)/replay", json: [:], token: token)
                #expect(replay.status == .notFound, "\(id)")
            }
            for query in ["page[size]=0", "page[size]=101", "page[number]=0", "page[size]=ten"] {
                let list = try await env.get("/api/v1/bus/dead-letters?\(query)", token: token)
                #expect(list.status == .badRequest, "\(query)")
                #expect(list.errorReason == "INVALID_PAGE")
            }
        }
    }

    @Test("replaying a dead letter whose message is queued again is a 409", arguments: Backend.allCases)
    func replayConflict(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let token = try await env.adminToken()
            let id = try await Self.deadLetter(env, id: "again")
            try await env.messaging.queues.enqueue("orders:messages", messageID: "again", message: .null, on: nil)
            let replay = try await env.post("/api/v1/bus/dead-letters/\(id)/replay", json: [:], token: token)
            #expect(replay.status == .conflict)
            #expect(replay.errorReason == "ALREADY_QUEUED")
        }
    }
}
