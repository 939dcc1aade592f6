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

@Suite("Error envelope and request ids")
struct ErrorEnvelopeTests {
    @Test("an unknown route answers a JSON 404 envelope with an x-request-id")
    func unknownRoute() async throws {
        try await withTestGateway { client in
            let response = try await client.execute(uri: "/nope", method: .get)
            #expect(response.status == .notFound)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            #expect(response.headers[RequestIDMiddleware.headerName]?.isEmpty == false)
            let entry = try #require(response.envelope?.errors.first)
            #expect(entry.code == 404)
            #expect(entry.reason == "NO_ROUTE")
        }
    }

    @Test("a 404 echoes at most 200 bytes of the path, cut between characters, and says when it cut")
    func longPathEcho() {
        // "/" and 150 two-byte letters: 301 bytes, so "/" and 99 letters (199 bytes) are echoed, then "...".
        let long = "/" + String(repeating: "é", count: 150)
        let message = AccessRefusal.noRoute(method: "GET", path: long).apiError.entries[0].message
        #expect(message == "No route matches GET /" + String(repeating: "é", count: 99) + "....")
        // Exactly 200 bytes is echoed whole, without the mark.
        let fits = "/" + String(repeating: "a", count: 199)
        #expect(AccessRefusal.noRoute(method: "GET", path: fits).apiError.entries[0].message == "No route matches GET \(fits).")
    }

    @Test("another method: 404 NO_ROUTE where no rule allows it (what serve answers), 405 with Allow where a rule does and no route serves it")
    func wrongMethod() async throws {
        try await withTestGateway { client in
            // The shipped rules name the methods each route serves: any other is refused before routing.
            let login = try await client.execute(uri: "/login", method: .delete)
            #expect(login.status == .notFound)
            #expect(login.envelope?.errors.first?.reason == "NO_ROUTE")
            // A rule that allows a method no module serves: the router tells the path exists.
            let response = try await client.execute(uri: "/test/widgets", method: .delete)
            #expect(response.status == .methodNotAllowed)
            #expect(response.headers[.allow] == "POST")
            #expect(response.envelope?.errors.first?.reason == "METHOD_NOT_ALLOWED")
            // Templates count too: /test/widgets/{id} is GET only.
            let templated = try await client.execute(uri: "/test/widgets/42", method: .post)
            #expect(templated.status == .methodNotAllowed)
            #expect(templated.headers[.allow] == "DELETE, GET, HEAD")
            // A literal path next to a template: the router serves the literal, so only its methods are allowed.
            let literal = try await client.execute(uri: "/test/widgets/latest", method: .delete)
            #expect(literal.status == .methodNotAllowed)
            #expect(literal.headers[.allow] == "GET, HEAD")
        }
    }

    @Test("HEAD is answered for GET routes, without a body")
    func head() async throws {
        try await withTestGateway { client in
            let response = try await client.execute(uri: "/health/live", method: .head)
            #expect(response.status == .ok)
            #expect(response.body.readableBytes == 0)
        }
    }

    @Test("an acceptable caller request id is echoed back")
    func echoesRequestID() async throws {
        try await withTestGateway { client in
            let response = try await client.execute(uri: "/health/live", method: .get, headers: [RequestIDMiddleware.headerName: "trace-42"])
            #expect(response.headers[RequestIDMiddleware.headerName] == "trace-42")
            let error = try await client.execute(uri: "/nope", method: .get, headers: [RequestIDMiddleware.headerName: "trace-43"])
            #expect(error.headers[RequestIDMiddleware.headerName] == "trace-43")
        }
    }

    @Test("an unacceptable caller request id is replaced")
    func replacesRequestID() async throws {
        try await withTestGateway { client in
            let long = String(repeating: "x", count: 200)
            let response = try await client.execute(uri: "/health/live", method: .get, headers: [RequestIDMiddleware.headerName: long])
            let id = try #require(response.headers[RequestIDMiddleware.headerName])
            #expect(id != long)
            #expect(RequestID.isAcceptable(id))
        }
    }

    @Test("an unexpected error is a 500 envelope that leaks nothing")
    func internalError() async throws {
        try await withTestGateway { client in
            let response = try await client.execute(uri: "/test/failure", method: .get)
            #expect(response.status == .internalServerError)
            #expect(response.envelope?.errors == [ErrorEntry(code: 500, message: "Internal server error", reason: "INTERNAL_ERROR")])
            #expect(!response.bodyText.contains("SELECT"))
        }
    }
}
