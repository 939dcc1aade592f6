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

    @Test("a link's hash is the MAC of its text followed by the previous hash, the same from a reused key, for any text")
    func linkIsMACOfJoinedText() async throws {
        try await TestDatabases.withDatabase(.sqlite) { database in
            let chain = AuditChain(database: database, key: SymmetricKey(data: Data("Jefe".utf8)))
            // RFC 4231 test case 2 again, split where a record's text would end: the key state is reused.
            #expect(
                chain.link(Array("what do ya ".utf8), after: "want for nothing?")
                    == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
            for (body, previous) in [("", AuditChain.genesis), ("{\"path\":\"/caf\u{e9}/\u{1F600}\"}", String(repeating: "ab", count: 32))] {
                #expect(chain.link(Array(body.utf8), after: previous) == chain.mac(body + previous))
                #expect(chain.link(Array(body.utf8), after: previous) != chain.link(Array((body + " ").utf8), after: previous))
            }
        }
    }
}
