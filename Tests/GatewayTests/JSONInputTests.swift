import Foundation
import Gateway
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PortcullisCore
import Testing

@Suite("JSON input handling")
struct JSONInputTests {
    static let json: HTTPFields = [.contentType: "application/json"]

    @Test("a valid body is decoded")
    func valid() async throws {
        try await withTestGateway { client in
            let response = try await client.execute(
                uri: "/test/widgets", method: .post, headers: Self.json,
                body: ByteBuffer(string: #"{"name":"w","count":3,"tags":["a"]}"#)
            )
            #expect(response.status == .ok)
            let widget = try JSONDecoder().decode(Widget.self, from: Data(response.body.readableBytesView))
            #expect(widget.count == 3)
        }
    }

    @Test(
        "malformed JSON is a 400 MALFORMED_JSON",
        arguments: [#"{"name": "w", "#, "not json", "", #"{"name":"w","count":1}}"#, "\u{FF}\u{FE}"]
    )
    func malformed(body: String) async throws {
        try await withTestGateway { client in
            let response = try await client.execute(uri: "/test/widgets", method: .post, headers: Self.json, body: ByteBuffer(string: body))
            #expect(response.status == .badRequest)
            #expect(response.envelope?.errors.first?.reason == "MALFORMED_JSON")
        }
    }

    @Test(
        "a wrong JSON type is a 400 INVALID_TYPE naming the field",
        arguments: [
            (#"{"name":"w","count":"three"}"#, "count"),
            (#"{"name":7,"count":1}"#, "name"),
            (#"{"name":"w","count":1,"tags":[1]}"#, "tags[0]"),
            (#"{"name":null,"count":1}"#, "name"),
            (#"["not","an","object"]"#, "top level"),
        ]
    )
    func wrongType(body: String, field: String) async throws {
        try await withTestGateway { client in
            let response = try await client.execute(uri: "/test/widgets", method: .post, headers: Self.json, body: ByteBuffer(string: body))
            #expect(response.status == .badRequest)
            let entry = try #require(response.envelope?.errors.first)
            #expect(entry.reason == "INVALID_TYPE")
            #expect(entry.message.contains(field))
        }
    }

    @Test(
        "a number that does not fit an integer field is a 400 INVALID_TYPE, not malformed JSON",
        arguments: [#"{"name":"w","count":1.5}"#, #"{"name":"w","count":99999999999999999999999}"#]
    )
    func numberDoesNotFit(body: String) async throws {
        try await withTestGateway { client in
            let response = try await client.execute(uri: "/test/widgets", method: .post, headers: Self.json, body: ByteBuffer(string: body))
            #expect(response.status == .badRequest)
            #expect(response.envelope?.errors.first?.reason == "INVALID_TYPE")
        }
    }

    @Test("a missing field is a 400 MISSING_FIELD naming it")
    func missingField() async throws {
        try await withTestGateway { client in
            let response = try await client.execute(
                uri: "/test/widgets", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"name":"w"}"#)
            )
            #expect(response.status == .badRequest)
            #expect(response.envelope?.errors.first?.reason == "MISSING_FIELD")
            #expect(response.envelope?.errors.first?.message.contains("count") == true)
        }
    }

    @Test("a body without a JSON content type is a 415", arguments: [nil, "text/plain", "application/x-www-form-urlencoded"])
    func wrongContentType(contentType: String?) async throws {
        try await withTestGateway { client in
            var headers: HTTPFields = [:]
            if let contentType { headers[.contentType] = contentType }
            let response = try await client.execute(
                uri: "/test/widgets", method: .post, headers: headers, body: ByteBuffer(string: #"{"name":"w","count":1}"#)
            )
            #expect(response.status == .unsupportedMediaType)
            #expect(response.envelope?.errors.first?.reason == "UNSUPPORTED_MEDIA_TYPE")
        }
    }

    @Test("a +json media type with parameters is accepted")
    func jsonVariants() async throws {
        try await withTestGateway { client in
            let response = try await client.execute(
                uri: "/test/widgets", method: .post, headers: [.contentType: "application/vnd.api+json; charset=utf-8"],
                body: ByteBuffer(string: #"{"name":"w","count":1}"#)
            )
            #expect(response.status == .ok)
        }
    }

    @Test("a body over the limit is a 413, on any route, before the handler runs")
    func tooLarge() async throws {
        try await withTestGateway(maxBodyBytes: 64) { client in
            let big = ByteBuffer(string: #"{"name":""# + String(repeating: "x", count: 100) + #"","count":1}"#)
            let response = try await client.execute(uri: "/test/widgets", method: .post, headers: Self.json, body: big)
            #expect(response.status == .contentTooLarge)
            #expect(response.envelope?.errors.first?.reason == "BODY_TOO_LARGE")
            let elsewhere = try await client.execute(uri: "/health/live", method: .get, body: big)
            #expect(elsewhere.status == .contentTooLarge)
        }
    }

    @Test("a body at the limit is accepted")
    func atLimit() async throws {
        let body = #"{"name":"w","count":1}"#
        try await withTestGateway(maxBodyBytes: body.utf8.count) { client in
            let response = try await client.execute(uri: "/test/widgets", method: .post, headers: Self.json, body: ByteBuffer(string: body))
            #expect(response.status == .ok)
        }
    }
}
