import Testing

@testable import IAM

/// The stored form of a token is compared with what existing databases hold: its text must never change.
@Suite("Stored token hashes")
struct StoredHashTests {
    @Test("an opaque token's stored hash is SHA-256 in lower-case hex (FIPS 180-2's known answers)")
    func knownAnswers() {
        #expect(Identifiers.tokenHash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Identifiers.tokenHash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
