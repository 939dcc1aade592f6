import Foundation
import JWTKit
import PortcullisCore
import Testing

@testable import IAM

/// The claims' hand-written decoding and the header memo, checked against what jwt-kit does without them.
@Suite("Access token decoding")
struct AccessTokenDecodingTests {
    /// The claims as the synthesised decoding reads them with jwt-kit's claim types: what
    /// ``AccessTokenClaims`` decoded before its decoding was written out.
    struct ReferenceClaims: Decodable {
        var iss: IssuerClaim
        var aud: AudienceClaim
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var nbf: NotBeforeClaim
        var iat: IssuedAtClaim
        var jti: IDClaim
        var tenant: String?
        var scope: String?
        var act: Principal.Actor?
    }

    static let decoder: any JWTJSONDecoder = .defaultForJWT
    static let common = #""iss":"http://localhost:8080","sub":"u-1","exp":1900000000,"nbf":1700000000.5,"iat":1700000000,"jti":"t-1""#

    static let accepted = [
        #"{\#(common),"aud":"portcullis"}"#,
        #"{\#(common),"aud":["portcullis","other"]}"#,
        #"{\#(common),"aud":[]}"#,
        #"{\#(common),"aud":"portcullis","tenant":"acme","scope":"flows.read flows.write"}"#,
        #"{\#(common),"aud":"portcullis","tenant":null,"act":{"sub":"svc-1","act":{"sub":"svc-0"}}}"#,
        #"{\#(common),"aud":"portcullis","unknown":{"nested":[1,2]}}"#,
    ]

    static let refused = [
        #"{\#(common)}"#,
        #"{\#(common),"aud":7}"#,
        #"{\#(common),"aud":[7]}"#,
        #"{\#(common),"aud":{"a":1}}"#,
        #"{\#(common),"aud":null}"#,
        #"{"iss":"i","aud":"a","sub":"s","exp":"1900000000","nbf":1,"iat":1,"jti":"j"}"#,
        #"{"iss":"i","aud":"a","sub":"s","nbf":1,"iat":1,"jti":"j"}"#,
        #"{"iss":1,"aud":"a","sub":"s","exp":1,"nbf":1,"iat":1,"jti":"j"}"#,
        #"{\#(common),"aud":"a","tenant":5}"#,
        #"{\#(common),"aud":"a","act":{"act":{"sub":"x"}}}"#,
        #"[]"#,
    ]

    @Test("claims decode to what jwt-kit's synthesised decoding gives", arguments: accepted)
    func sameClaims(json: String) throws {
        let data = Data(json.utf8)
        let ours = try Self.decoder.decode(AccessTokenClaims.self, from: data)
        let reference = try Self.decoder.decode(ReferenceClaims.self, from: data)
        #expect(ours.iss == reference.iss)
        #expect(ours.aud == reference.aud)
        #expect(ours.sub == reference.sub)
        #expect(ours.exp == reference.exp)
        #expect(ours.nbf == reference.nbf)
        #expect(ours.iat == reference.iat)
        #expect(ours.jti == reference.jti)
        #expect(ours.tenant == reference.tenant)
        #expect(ours.scope == reference.scope)
        #expect(ours.act == reference.act)
    }

    @Test("claims that jwt-kit's synthesised decoding refuses are refused", arguments: refused)
    func sameRefusals(json: String) {
        let data = Data(json.utf8)
        #expect(throws: (any Error).self) { try Self.decoder.decode(ReferenceClaims.self, from: data) }
        #expect(throws: (any Error).self) { try Self.decoder.decode(AccessTokenClaims.self, from: data) }
    }

    @Test("issued claims survive encoding and decoding unchanged")
    func roundTrip() throws {
        let claims = AccessTokenClaims(
            iss: "http://localhost:8080", aud: AudienceClaim(value: ["portcullis"]), sub: "u-1",
            exp: .init(value: Date(timeIntervalSince1970: 1_900_000_000)), nbf: .init(value: Date(timeIntervalSince1970: 1_700_000_000)),
            iat: .init(value: Date(timeIntervalSince1970: 1_700_000_000)), jti: "t-1", tenant: "acme", scope: "flows.read",
            act: .actor(sub: "svc-1", act: nil))
        let encoded = try (JSONEncoder.defaultForJWT).encode(claims)
        #expect(try Self.decoder.decode(AccessTokenClaims.self, from: encoded) == claims)
    }

    static func header(_ fields: String) -> Data { Data("{\(fields)}".utf8) }

    @Test("a remembered header is the header its bytes decode to, and only for exactly those bytes")
    func memoizedHeaders() throws {
        let memoizing = HeaderMemoizingDecoder()
        let access = Self.header(#""alg":"ES256","kid":"k1","typ":"at+jwt""#)
        let other = Self.header(#""alg":"ES256","kid":"k1","typ":"JWT""#)
        let spaced = Self.header(#""alg":"ES256", "kid":"k2","typ":"at+jwt""#)
        for _ in 0..<3 {
            for bytes in [access, other, spaced] {
                let decoded = try memoizing.decode(JWTHeader.self, from: bytes)
                let fresh = try Self.decoder.decode(JWTHeader.self, from: bytes)
                #expect(decoded.typ == fresh.typ)
                #expect(decoded.kid == fresh.kid)
                #expect(decoded.alg == fresh.alg)
            }
        }
        #expect(try memoizing.decode(JWTHeader.self, from: other).typ == "JWT")
        #expect(try memoizing.decode(JWTHeader.self, from: spaced).kid == "k2")
        // Not JSON is refused every time, remembered or not.
        #expect(throws: (any Error).self) { try memoizing.decode(JWTHeader.self, from: Data("{\"alg\":".utf8)) }
    }

    @Test("the memo keeps at most eight headers and still decodes every one correctly")
    func bounded() throws {
        let memoizing = HeaderMemoizingDecoder()
        for index in 0..<50 {
            let header = try memoizing.decode(JWTHeader.self, from: Self.header(#""alg":"ES256","kid":"k\#(index)""#))
            #expect(header.kid == "k\(index)")
        }
        #expect(memoizing.rememberedCount == HeaderMemoizingDecoder.Memo.slots)
        #expect(try memoizing.decode(JWTHeader.self, from: Self.header(#""alg":"ES256","kid":"k3""#)).kid == "k3")
    }

    @Test("other types go to jwt-kit's decoder untouched")
    func otherTypes() throws {
        let memoizing = HeaderMemoizingDecoder()
        let json = Data(#"{\#(Self.common),"aud":"portcullis"}"#.utf8)
        #expect(try memoizing.decode(AccessTokenClaims.self, from: json) == (try Self.decoder.decode(AccessTokenClaims.self, from: json)))
        #expect(memoizing.rememberedCount == 0)
    }
}
