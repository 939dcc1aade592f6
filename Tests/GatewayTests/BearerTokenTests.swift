import Testing

@testable import Gateway

/// The token of an `Authorization: Bearer` header, read without Foundation's bridging on the usual ASCII
/// header and the same as Foundation's trimming on any other.
@Suite("Bearer token")
struct BearerTokenTests {
    @Test(
        "the scheme is case-insensitive and the token is trimmed of white space",
        arguments: [
            ("Bearer abc.def", "abc.def"), ("bearer abc", "abc"), ("BEARER  abc \t", "abc"), ("Bearer \tabc\t ", "abc"),
            ("Bearer a b", "a b"), ("Bearer \u{00A0}abc\u{2003}", "abc"), ("Bearer ünï ", "ünï"),
        ])
    func token(header: String, expected: String) {
        #expect(AccessStep.bearerToken(header) == expected)
    }

    @Test(
        "other schemes, no token and a blank token are not a bearer token",
        arguments: ["Basic abc", "Bearer", "Bearer ", "Bearer \t \t", "Bearerabc", ""])
    func none(header: String) {
        #expect(AccessStep.bearerToken(header) == nil)
    }
}
