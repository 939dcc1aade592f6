import Crypto
import Foundation
import TestSupport
import Testing

@testable import AuditLog

/// The chain's MACs are compared with what existing databases hold: their text must never change.
@Suite("Audit chain MAC")
struct ChainMACTests {
    @Test("a record's MAC is HMAC-SHA256 in lower-case hex (RFC 4231, test case 2)")
    func knownAnswer() async throws {
        try await TestDatabases.withDatabase(.sqlite) { database in
            let chain = AuditChain(database: database, key: SymmetricKey(data: Data("Jefe".utf8)))
            #expect(chain.mac("what do ya want for nothing?") == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        }
    }
}
