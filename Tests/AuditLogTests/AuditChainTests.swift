import AuditLog
import Crypto
import Foundation
import Messaging
import PortcullisCore
import Storage
import TestSupport
import Testing

/// A migrated database with an audit chain on it.
func withChain(_ backend: Backend, _ body: @Sendable (AuditChain, any Database) async throws -> Void) async throws {
    try await TestDatabases.withDatabase(backend) { database in
        try await MigrationRunner(database: database, migrations: MessagingMigrations.all + AuditMigrations.all, logger: TestDatabases.logger)
            .migrate()
        let key = MasterKey(base64: TestDatabases.masterKey)!.derived(for: AuditLog.keyPurpose)
        try await body(AuditChain(database: database, key: key), database)
    }
}

func record(_ index: Int, createdAt: Date = Date(), tenant: String? = "t1") -> AuditRecord {
    AuditRecord(
        id: "record-\(index)-\(UUID().uuidString.prefix(6))", createdAt: Timestamp.format(createdAt), name: "audit.test.event", serviceName: "test",
        requestID: "request-\(index)", tenant: tenant, outcome: index.isMultiple(of: 2) ? "allow" : "deny",
        actor: AuditActor(sub: "account-\(index % 3)", type: "user", tenant: tenant, tokenID: "token-\(index)", act: nil),
        payload: ["index": .int(Int64(index))]
    )
}

@Suite("The audit hash chain")
struct AuditChainTests {
    @Test("appends are gap-free, linked and idempotent by id, also from concurrent writers", arguments: Backend.allCases)
    func appends(backend: Backend) async throws {
        try await withChain(backend) { chain, _ in
            let first = try await chain.append(record(0))
            #expect(first.record.seq == 1)
            #expect(first.prevHash == AuditChain.genesis)
            let again = try await chain.append(first.record)
            #expect(again == first)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 1...40 {
                    group.addTask { try await chain.append(record(index)) }
                }
                try await group.waitForAll()
            }
            // A batch: one transaction, records already stored (or repeated) skipped, order kept.
            let batch = (41...45).map { record($0) }
            try await chain.append(contentsOf: [first.record] + batch + [batch[0]])
            let verification = try await chain.verify()
            #expect(verification.ok)
            #expect(verification.records == 46)
            #expect(verification.firstBadSeq == nil)
            let (page, total) = try await chain.list(AuditQuery(visibility: .all), offset: 0, limit: 100)
            #expect(total == 46)
            #expect(page.map(\.record.seq) == Array((1...46).reversed()))
            #expect(page.prefix(5).map(\.record.id) == batch.reversed().map(\.id))
            for (newer, older) in zip(page, page.dropFirst()) {
                #expect(newer.prevHash == older.hash)
            }
        }
    }

    @Test("editing, deleting or reordering a stored record breaks verification at that seq", arguments: Backend.allCases)
    func tampering(backend: Backend) async throws {
        try await withChain(backend) { chain, database in
            for index in 1...8 { try await chain.append(record(index)) }
            #expect(try await chain.verify().ok)

            // Editing the hashed text (an allow turned into a deny).
            let original = try #require(try await database.first("SELECT body FROM audit_records WHERE seq = 3")).string("body")
            let edited = original.replacingOccurrences(of: "\"outcome\":\"deny\"", with: "\"outcome\":\"allow\"")
            #expect(edited != original)
            try await database.execute("UPDATE audit_records SET body = \(edited) WHERE seq = 3")
            var result = try await chain.verify()
            #expect(result.ok == false)
            #expect(result.firstBadSeq == 3)
            #expect(result.records == 2)
            try await database.execute("UPDATE audit_records SET body = \(original) WHERE seq = 3")
            #expect(try await chain.verify().ok)

            // Editing only a column that filters read.
            try await database.execute("UPDATE audit_records SET tenant = 'other' WHERE seq = 4")
            result = try await chain.verify()
            #expect(result.firstBadSeq == 4)
            try await database.execute("UPDATE audit_records SET tenant = 't1' WHERE seq = 4")
            #expect(try await chain.verify().ok)

            // Reordering: records 5 and 6 swap places.
            try await database.execute("UPDATE audit_records SET seq = 1000 WHERE seq = 5")
            try await database.execute("UPDATE audit_records SET seq = 5 WHERE seq = 6")
            try await database.execute("UPDATE audit_records SET seq = 6 WHERE seq = 1000")
            result = try await chain.verify()
            #expect(result.firstBadSeq == 5)
            try await database.execute("UPDATE audit_records SET seq = 1000 WHERE seq = 5")
            try await database.execute("UPDATE audit_records SET seq = 5 WHERE seq = 6")
            try await database.execute("UPDATE audit_records SET seq = 6 WHERE seq = 1000")
            #expect(try await chain.verify().ok)

            // Deleting one record.
            try await database.execute("DELETE FROM audit_records WHERE seq = 7")
            result = try await chain.verify()
            #expect(result.firstBadSeq == 7)
            #expect(result.problem?.contains("missing") == true)
        }
    }

    @Test("retention prunes old records behind a signed checkpoint, and the rest still verifies", arguments: Backend.allCases)
    func retention(backend: Backend) async throws {
        try await withChain(backend) { chain, database in
            let old = Date().addingTimeInterval(-10 * 86400)
            for index in 1...5 { try await chain.append(record(index, createdAt: old)) }
            for index in 6...8 { try await chain.append(record(index)) }
            let removed = try await chain.prune(before: Date().addingTimeInterval(-86400), now: Date())
            #expect(removed == 5)
            let verification = try await chain.verify()
            #expect(verification.ok)
            #expect(verification.records == 4)  // 6, 7, 8 and the pruning record itself
            let (page, _) = try await chain.list(AuditQuery(visibility: .all), offset: 0, limit: 1)
            #expect(page.first?.record.name == "audit.log.pruned")
            #expect(page.first?.record.payload["throughSeq"] == .int(5))
            #expect(page.first?.record.seq == 9)
            // Appending continues the chain; nothing is left to prune.
            try await chain.append(record(10))
            #expect(try await chain.prune(before: Date().addingTimeInterval(-86400), now: Date()) == 0)
            #expect(try await chain.verify().ok)
            // Deleting the oldest records without a valid checkpoint is detected.
            try await database.execute("UPDATE audit_checkpoint SET through_seq = 6")
            let forged = try await chain.verify()
            #expect(forged.ok == false)
            #expect(forged.firstBadSeq == 7)
        }
    }

    @Test("a chain verified with another key fails at the first record")
    func wrongKey() async throws {
        try await withChain(.sqlite) { chain, database in
            for index in 1...3 { try await chain.append(record(index)) }
            let other = AuditChain(database: database, key: SymmetricKey(size: .bits256))
            let result = try await other.verify()
            #expect(result.firstBadSeq == 1)
        }
    }

    @Test("filters combine, and a scoped reader sees its tenant's and its own records only", arguments: Backend.allCases)
    func queries(backend: Backend) async throws {
        try await withChain(backend) { chain, _ in
            for index in 1...6 { try await chain.append(record(index, tenant: index <= 3 ? "t1" : "t2")) }
            var query = AuditQuery(visibility: .all)
            query.outcome = "deny"
            #expect(try await chain.list(query, offset: 0, limit: 10).total == 3)
            query.tenant = "t2"
            #expect(try await chain.list(query, offset: 0, limit: 10).total == 1)
            var scoped = AuditQuery(visibility: .own(tenant: "t1", actor: "account-1"))
            let visible = try await chain.list(scoped, offset: 0, limit: 10).items.map(\.record.requestID)
            // t1's three records, plus record 4 of t2 whose actor is account-1.
            #expect(Set(visible) == ["request-1", "request-2", "request-3", "request-4"])
            scoped.requestID = "request-5"
            #expect(try await chain.list(scoped, offset: 0, limit: 10).total == 0)
            var ranged = AuditQuery(visibility: .all)
            ranged.from = Date().addingTimeInterval(3600)
            #expect(try await chain.list(ranged, offset: 0, limit: 10).total == 0)
        }
    }
}

@Suite("Audit records from events")
struct AuditRecordTests {
    @Test("a decision event's fields are lifted into the record; the rest stays in payload")
    func fromDecisionEvent() throws {
        let payload = DecisionPayload(
            stage: "route", outcome: "deny", reason: "MISSING_PERMISSION", permission: "flows.read", rule: "flows-read", policyRevision: "abc",
            actor: AuditActor(sub: "a1", type: "user", tenant: "t1", tokenID: "tok", act: .actor(sub: "svc", act: nil)),
            resource: AuditResource(method: "GET", path: "/flows"), client: AuditClient(ip: "10.0.0.1", userAgent: "curl")
        )
        let event = try Event(name: DecisionPayload.eventName, serviceName: "gateway", payload: payload, requestID: "r1", now: Date())
        let record = AuditRecord(event: event)
        #expect(record.id == event.id)
        #expect(record.outcome == "deny")
        #expect(record.rule == "flows-read")
        #expect(record.actor?.act?.sub == "svc")
        #expect(record.tenant == "t1")
        #expect(record.client?.ip == "10.0.0.1")
        #expect(record.payload == .object([:]))
    }

    @Test("other audit events keep their payload and take the event's tenant")
    func fromOtherEvent() throws {
        let event = try Event(
            name: "audit.iam.login", serviceName: "iam", payload: ["username": "x", "outcome": "success"] as JSONValue, tenant: "t9", now: Date())
        let record = AuditRecord(event: event)
        #expect(record.tenant == "t9")
        #expect(record.outcome == "success")
        #expect(record.payload == ["username": "x"])
    }
}
