import Foundation
import PortcullisCore
import Storage
import TestSupport
import Testing

@testable import AuditLog

/// Decision records built as text on the request path: the text must be the record, hostile strings
/// included, and must chain like any other record.
@Suite("Prepared decision records")
struct PreparedRecordTests {
    static func decision(
        reason: String = "MISSING_PERMISSION", path: String = "/flows", userAgent: String? = "curl/8", act: Principal.Actor? = nil,
        tenant: String? = "t1", resourceTenant: String? = nil
    ) -> PreparedRecord {
        PreparedRecord.decision(
            at: Date(timeIntervalSince1970: 1_764_000_000.123), requestID: "req-1", stage: "resource", outcome: "deny", reason: reason,
            permission: "flows.read,flows.write", rule: nil, policyRevision: "rev-9",
            actor: AuditActor(sub: "a1", type: "user", tenant: tenant, tokenID: "tok-1", act: act),
            resource: AuditResource(method: "GET", path: path, type: "flow", id: "f1", tenant: resourceTenant),
            client: AuditClient(ip: "10.0.0.1", userAgent: userAgent))
    }

    @Test("the text decodes to the record the fields describe, with its seq, nil fields left out")
    func textIsTheRecord() throws {
        let prepared = Self.decision(act: .actor(sub: "svc", act: .actor(sub: "root", act: nil)))
        let body = prepared.body(seq: 42)
        let record = try JSONCoding.decode(AuditRecord.self, from: body)
        #expect(record.seq == 42)
        #expect(record.id == prepared.id)
        #expect(record.name == "audit.authz.decision")
        #expect(record.serviceName == "gateway")
        #expect(record.requestID == "req-1")
        #expect(record.createdAt == "2025-11-24T16:00:00.123Z")
        #expect(record.stage == "resource")
        #expect(record.outcome == "deny")
        #expect(record.reason == "MISSING_PERMISSION")
        #expect(record.permission == "flows.read,flows.write")
        #expect(record.rule == nil)
        #expect(record.policyRevision == "rev-9")
        #expect(
            record.actor
                == AuditActor(sub: "a1", type: "user", tenant: "t1", tokenID: "tok-1", act: .actor(sub: "svc", act: .actor(sub: "root", act: nil))))
        #expect(record.resource == AuditResource(method: "GET", path: "/flows", type: "flow", id: "f1", tenant: nil))
        #expect(record.client == AuditClient(ip: "10.0.0.1", userAgent: "curl/8"))
        #expect(record.tenant == "t1")
        #expect(record.payload == .object([:]))
        #expect(!body.contains("\"rule\""), "a nil field is left out, as Codable leaves it out")
        // Byte for byte the canonical text the audit log's encoder makes of the same record.
        #expect(body == (try record.canonicalText()))
        // The short escapes too: backspace and form feed as \b and \f, as the encoder writes them.
        let controls = Self.decision(reason: "bell\u{8}feed\u{c}tab\tline\nquote\"slash/\\")
        #expect(controls.body(seq: 3) == (try JSONCoding.decode(AuditRecord.self, from: controls.body(seq: 3)).canonicalText()))
        // The columns filters read say what the text says.
        #expect(prepared.createdMilliseconds == 1_764_000_000_123)
        #expect(prepared.actorSub == "a1")
        #expect(prepared.outcome == "deny")
    }

    @Test(
        "hostile strings stay data: quotes, backslashes, control characters, NUL, non-ASCII",
        arguments: [
            "\"}, \"seq\": 1, \"x\": \"", "back\\slash\\", "line\nbreak\r\ttab", "nul\u{0}and\u{1f}bell\u{7}", "ünïcødé 🚀 \u{2028}", "del\u{7f}", "",
            "plain-ascii/text",
        ])
    func hostileStrings(text: String) throws {
        let prepared = Self.decision(reason: text, path: "/p/\(text)", userAgent: text)
        let record = try JSONCoding.decode(AuditRecord.self, from: prepared.body(seq: 7))
        // Byte for byte the canonical text of the same record, whichever way each string was written.
        #expect(prepared.body(seq: 7) == (try record.canonicalText()))
        #expect(record.reason == text)
        #expect(record.resource?.path == "/p/\(text)")
        #expect(record.client?.userAgent == text)
        #expect(record.seq == 7)
    }

    @Test("a record without an actor's tenant takes the resource's")
    func tenantFallsBack() throws {
        let prepared = Self.decision(tenant: nil, resourceTenant: "t7")
        #expect(prepared.tenant == "t7")
        #expect(try JSONCoding.decode(AuditRecord.self, from: prepared.body(seq: 1)).tenant == "t7")
    }

    @Test("prepared records chain with the others: gap-free, verifiable, columns matching", arguments: Backend.allCases)
    func chained(backend: Backend) async throws {
        try await withChain(backend) { chain, _ in
            try await chain.append(record(0))
            // More than one INSERT's worth, so that a batch spans statements.
            let batch = (0..<250).map { Self.decision(reason: "R\($0)") }
            try await chain.append(decisions: batch)
            try await chain.append(contentsOf: [record(1)])
            try await chain.append(decisions: [Self.decision(reason: "last")])
            let verification = try await chain.verify()
            #expect(verification.ok, "\(verification.problem ?? "")")
            #expect(verification.records == 253)
            let (page, total) = try await chain.list(AuditQuery(visibility: .all), offset: 0, limit: 3)
            #expect(total == 253)
            #expect(page.first?.record.reason == "last")
            #expect(page.dropFirst().first?.record.name == "audit.test.event")
            #expect(page.last?.record.reason == "R249")
        }
    }

    @Test("after its own batch a process appends the next in one statement; another writer's record or pruning sends it back to the locked path")
    func knownHead() async throws {
        try await withChain(.sqlite) { chain, database in
            let count: @Sendable () async throws -> Int64 = { try await database.first("SELECT COUNT(*) AS n FROM audit_records")?.int("n") ?? -1 }
            // No head known yet: nothing is written, the locked path reads it.
            #expect(try await chain.appendAfterKnownHead([Self.decision(reason: "unlinked")]) == false)
            #expect(try await count() == 0)
            try await chain.append(decisions: [Self.decision(reason: "first")])
            #expect(try await chain.appendAfterKnownHead([Self.decision(reason: "second"), Self.decision(reason: "third")]))
            #expect(try await count() == 3)
            // Another writer appends (the bus consumer's records): the remembered head is not the last any more.
            try await chain.append(record(1))
            #expect(try await chain.appendAfterKnownHead([Self.decision(reason: "stale")]) == false)
            #expect(try await count() == 4)
            try await chain.append(decisions: [Self.decision(reason: "after the record")])
            #expect(try await chain.appendAfterKnownHead([Self.decision(reason: "fast again")]))
            // Everything pruned (the pruning leaves its own record): the head the process remembers is gone.
            #expect(try await chain.prune(before: Date().addingTimeInterval(86_400), now: Date()) == 6)
            #expect(try await chain.appendAfterKnownHead([Self.decision(reason: "after pruning")]) == false)
            #expect(try await count() == 1)
            try await chain.append(decisions: [Self.decision(reason: "from the checkpoint")])
            let verification = try await chain.verify()
            #expect(verification.ok, "\(verification.problem ?? "")")
            let (page, total) = try await chain.list(AuditQuery(visibility: .all), offset: 0, limit: 10)
            #expect(total == 2)
            #expect(page.first?.record.reason == "from the checkpoint")
        }
    }
}
