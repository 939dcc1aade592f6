import Foundation
import JWTKit
import PortcullisCore
import Synchronization
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
        #"{"iss":"i","aud":"a","exp":1,"nbf":1,"iat":1,"jti":"j"}"#,
        #"{"iss":"i","aud":"a","sub":"s","exp":1,"iat":1,"jti":"j"}"#,
        #"{"iss":"i","aud":"a","sub":"s","exp":1,"nbf":1,"jti":"j"}"#,
        #"{"iss":"i","aud":"a","sub":"s","exp":1,"nbf":1,"iat":1}"#,
        #"{"iss":"i","aud":"a","sub":"s","exp":null,"nbf":1,"iat":1,"jti":"j"}"#,
        #"{\#(common),"aud":["a",null]}"#,
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

    /// jwt-kit's decoder, counting what it is asked to decode.
    final class CountingDecoder: JWTJSONDecoder, Sendable {
        let base: any JWTJSONDecoder = .defaultForJWT
        let decoded = Mutex<[Data]>([])

        func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
            self.decoded.withLock { $0.append(data) }
            return try self.base.decode(type, from: data)
        }

        var count: Int { self.decoded.withLock { $0.count } }
    }

    /// Two headers of the same length that differ in one byte of the key id, alternated: each is decoded
    /// once, then answered from the memo, and each answer is its own header.
    @Test("a header is decoded once, then remembered by its exact bytes")
    func decodedOnce() throws {
        let counting = CountingDecoder()
        let memoizing = HeaderMemoizingDecoder(base: counting)
        let first = Self.header(#""alg":"ES256","kid":"k1","typ":"at+jwt""#)
        let second = Self.header(#""alg":"ES256","kid":"k2","typ":"at+jwt""#)
        #expect(first.count == second.count)
        for _ in 0..<5 {
            #expect(try memoizing.decode(JWTHeader.self, from: first).kid == "k1")
            #expect(try memoizing.decode(JWTHeader.self, from: second).kid == "k2")
        }
        #expect(counting.count == 2)
        #expect(memoizing.rememberedCount == 2)
    }

    @Test("a remembered header is the header its bytes decode to")
    func sameAsFresh() throws {
        let memoizing = HeaderMemoizingDecoder()
        let access = Self.header(#""alg":"ES256","kid":"k1","typ":"at+jwt""#)
        let other = Self.header(#""alg":"ES256","kid":"k1","typ":"JWT""#)
        let none = Self.header(#""alg":"none","kid":"k1","typ":"at+jwt""#)
        for _ in 0..<3 {
            for bytes in [access, other, none] {
                let decoded = try memoizing.decode(JWTHeader.self, from: bytes)
                let fresh = try Self.decoder.decode(JWTHeader.self, from: bytes)
                #expect(decoded.typ == fresh.typ)
                #expect(decoded.kid == fresh.kid)
                #expect(decoded.alg == fresh.alg)
            }
        }
        // Not JSON is refused every time, and nothing is remembered for it.
        for _ in 0..<2 {
            #expect(throws: (any Error).self) { try memoizing.decode(JWTHeader.self, from: Data("{\"alg\":".utf8)) }
        }
        #expect(memoizing.rememberedCount == 3)
    }

    /// Ten headers through eight slots: the two oldest are forgotten (decoded again), the newest eight
    /// are not; the table never grows past eight.
    @Test("the memo keeps the eight newest headers")
    func oldestReplacedFirst() throws {
        let counting = CountingDecoder()
        let memoizing = HeaderMemoizingDecoder(base: counting)
        let headers = (0..<10).map { Self.header(#""alg":"ES256","kid":"k\#($0)""#) }
        for header in headers { _ = try memoizing.decode(JWTHeader.self, from: header) }
        #expect(counting.count == 10)
        #expect(memoizing.rememberedCount == HeaderMemoizingDecoder.Memo.slots)
        for header in headers[2...] { _ = try memoizing.decode(JWTHeader.self, from: header) }
        #expect(counting.count == 10, "the eight newest are remembered")
        #expect(try memoizing.decode(JWTHeader.self, from: headers[0]).kid == "k0")
        #expect(counting.count == 11, "the oldest was forgotten")
        #expect(memoizing.rememberedCount == HeaderMemoizingDecoder.Memo.slots)
    }

    @Test("a header longer than 256 bytes is decoded every time and never remembered")
    func longHeaders() throws {
        let counting = CountingDecoder()
        let memoizing = HeaderMemoizingDecoder(base: counting)
        let long = Self.header(#""alg":"ES256","kid":"\#(String(repeating: "k", count: 300))""#)
        #expect(long.count > HeaderMemoizingDecoder.largestRemembered)
        for _ in 0..<3 { _ = try memoizing.decode(JWTHeader.self, from: long) }
        #expect(counting.count == 3)
        #expect(memoizing.rememberedCount == 0)
    }

    @Test("other types go to the base decoder untouched")
    func otherTypes() throws {
        let counting = CountingDecoder()
        let memoizing = HeaderMemoizingDecoder(base: counting)
        let json = Data(#"{\#(Self.common),"aud":"portcullis"}"#.utf8)
        for _ in 0..<2 {
            #expect(try memoizing.decode(AccessTokenClaims.self, from: json) == (try Self.decoder.decode(AccessTokenClaims.self, from: json)))
        }
        #expect(counting.count == 2)
        #expect(memoizing.rememberedCount == 0)
    }

    /// Every stored property of the claims has a coding key, so a claim added later cannot silently drop
    /// out of the hand-written decoding.
    @Test("every claim has a coding key")
    func codingKeysCoverClaims() {
        let claims = AccessTokenClaims(
            iss: "i", aud: AudienceClaim(value: ["a"]), sub: "s", exp: .init(value: Date()), nbf: .init(value: Date()),
            iat: .init(value: Date()), jti: "j", tenant: nil, scope: nil, act: nil)
        let properties = Mirror(reflecting: claims).children.compactMap(\.label)
        #expect(Set(properties) == Set(AccessTokenClaims.CodingKeys.allCases.map(\.stringValue)))
        #expect(properties.count == AccessTokenClaims.CodingKeys.allCases.count)
    }
}
