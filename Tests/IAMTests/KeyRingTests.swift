import Crypto
import Foundation
import GatewayKit
import GatewayTestSupport
import PortcullisCore
import Storage
import Synchronization
import TestSupport
import Testing

@testable import IAM

@Suite("Key ring")
struct KeyRingTests {
    static func account() -> Account {
        Account(
            id: "acc", username: "u", firstname: nil, lastname: nil, tenant: nil, status: .active, type: .user, roles: [], permissions: [],
            createdAt: Date(), updatedAt: Date()
        )
    }

    static func kids(_ ring: KeyRing) async -> [String] {
        guard case .array(let keys)? = await ring.jwks()["keys"] else { return [] }
        return keys.compactMap { $0["kid"]?.stringValue }
    }

    static func kid(of token: String) throws -> String? {
        try JWTParts(token).header["kid"]?.stringValue
    }

    @Test("rotation publishes the next key ahead; it signs only once active; old tokens keep verifying", arguments: Backend.allCases)
    func rotation(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            try await MigrationRunner(database: database, migrations: IAMMigrations.all, logger: TestDatabases.logger).migrate()
            let clock = TestClock()
            let ring = KeyRing(
                database: database, masterKey: MasterKey(base64: TestDatabases.masterKey)!, tokenLifetime: .seconds(900),
                logger: TestDatabases.logger,
                clock: clock.wallClock
            )
            try await ring.start()
            // The ring's keys as it publishes them (JWKS), oldest first.
            let first = try #require(await ring.jwks()["keys"]?.arrayValue?.first?["kid"]?.stringValue)
            let issuer = TokenIssuer(
                keyRing: ring, tokens: TokenStore(database: database, clock: clock.wallClock), issuer: "i", audience: "a",
                accessTokenTTL: .seconds(900), clock: clock.wallClock)
            let before = try await issuer.accessToken(for: Self.account())

            let next = try await ring.rotate(publishAhead: .seconds(3600))
            #expect(await Self.kids(ring) == [first, next], "the next key is published before it signs")
            #expect(try Self.kid(of: try await issuer.accessToken(for: Self.account()).token) == first)

            clock.advance(by: 3601)
            #expect(try Self.kid(of: try await issuer.accessToken(for: Self.account()).token) == next, "signs once active")
            // The token of the replaced key still verifies; with its signature or its claims changed, it does not.
            #expect(Self.verified(ring.signatures.verify(before.token)))
            var parts = before.token.split(separator: ".").map { String($0) }
            var signature = Array(parts[2])
            signature[10] = signature[10] == "A" ? "B" : "A"
            #expect(!Self.verified(ring.signatures.verify([parts[0], parts[1], String(signature)].joined(separator: "."))))
            let payload = try #require(Self.base64URLDecoded(parts[1]))
            var claims = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
            claims["sub"] = "someone-else"
            parts[1] = Self.base64URL(try JSONSerialization.data(withJSONObject: claims))
            #expect(!Self.verified(ring.signatures.verify(parts.joined(separator: "."))))

            // Once every token of the old key has expired (lifetime + leeway), the old key leaves the ring.
            clock.advance(by: 900 + 121)
            try await ring.refresh()
            #expect(await Self.kids(ring) == [next])
            #expect(await ring.knows(kid: first) == false)
            #expect(ring.signatures.knows(kid: first) == false)
            guard case .unknownKey(first) = ring.signatures.verify(before.token) else {
                Issue.record("a key that left the ring verifies nothing")
                return
            }
        }
    }

    @Test("a ring opened with another master key fails closed instead of signing", arguments: Backend.allCases)
    func wrongMasterKey(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            try await MigrationRunner(database: database, migrations: IAMMigrations.all, logger: TestDatabases.logger).migrate()
            let right = KeyRing(
                database: database, masterKey: MasterKey(base64: TestDatabases.masterKey)!, tokenLifetime: .seconds(900),
                logger: TestDatabases.logger,
                clock: .system
            )
            try await right.start()
            let other = MasterKey(key: SymmetricKey(size: .bits256))
            let wrong = KeyRing(database: database, masterKey: other, tokenLifetime: .seconds(900), logger: TestDatabases.logger, clock: .system)
            await #expect {
                try await wrong.start()
            } throws: { error in
                if case KeyRingError.unsealable = error { return true }
                return false
            }
            let sealed = try #require(try await database.first("SELECT sealed_private_key FROM iam_signing_keys"))
            #expect(try sealed.bytes("sealed_private_key").count > 32 + 12, "stored sealed (nonce + ciphertext + tag), not raw")
        }
    }

    static func verified(_ verification: AccessTokenSignatures.Verification) -> Bool {
        if case .verified = verification { return true }
        return false
    }

    static func base64URLDecoded(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
