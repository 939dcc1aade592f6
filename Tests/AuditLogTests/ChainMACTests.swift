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

    @Test("a link's hash is the MAC of its text joined to the previous hash, from a key state reused by every MAC")
    func linkHashIsMACOfJoinedText() async throws {
        try await TestDatabases.withDatabase(.sqlite) { database in
            let key = SymmetricKey(data: Data("Jefe".utf8))
            let chain = AuditChain(database: database, key: key)
            let cases = [
                ("", AuditChain.genesis), ("what do ya ", "want for nothing?"),
                ("{\"path\":\"/caf\u{e9}/\u{1F600}\\\"\\u0000\"}", String(repeating: "ab", count: 32)),
            ]
            for (body, previous) in cases {
                // The formula every stored hash was made with before the key state was reused.
                let joined = HMAC<SHA256>.authenticationCode(for: Data((body + previous).utf8), using: key)
                let expected = joined.map { String(format: "%02x", $0) }.joined()
                #expect(chain.linkHash(of: body, after: previous) == expected)
                #expect(chain.mac(body + previous) == expected)
            }
            // RFC 4231 test case 2 once more, after the MACs above: the shared key state was not changed by them.
            #expect(
                chain.linkHash(of: "what do ya ", after: "want for nothing?")
                    == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        }
    }
}
