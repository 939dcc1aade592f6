import Gateway
import GatewayKit
import GatewayTestSupport
import Hummingbird
import HummingbirdTesting
import PortcullisCore
import Testing

@Suite("Path canonicalisation")
struct PathCanonicalizationTests {
    static let hostile = [
        "/a/..%2Fb",
        "/a/../b",
        "/a/./b",
        "/..",
        "/health/live/..",
        "//health/live",
        "/health//live",
        "/a/%2e%2e/b",
        "/a/%2E/b",
        "/a%2Fb",
        "/a%2fb",
        "/a%5Cb",
        "/a%5cb",
        "/a\\b",
        "/a%00b",
        "/a%0Ab",
        "/a%ff",
        "/a%C3%28",
        "/a%zz",
        "/a%2",
        "/a%",
        "/tést",
        "relative/path",
        "*",
    ]

    @Test("hostile paths are refused with 400 before routing", arguments: hostile)
    func refused(path: String) async throws {
        try await withTestGateway { client in
            let response = try await client.execute(uri: path, method: .get)
            #expect(response.status == .badRequest)
            #expect(response.envelope?.errors.first?.reason == "INVALID_PATH")
            #expect(response.headers[RequestIDMiddleware.headerName] != nil)
        }
    }

    @Test("the canonicaliser refuses the same paths as a pure function", arguments: hostile)
    func pureFunction(path: String) {
        #expect(throws: APIError.self) { try PathCanonicalizer.canonicalPath(of: path) }
    }

    @Test(
        "ordinary paths pass unchanged",
        arguments: ["/", "/health/live", "/flows/5f1e2d3c", "/a/b-c_d.e~f", "/a/%20space", "/a/caf%C3%A9", "/a/...", "/a/.hidden"]
    )
    func accepted(path: String) throws {
        #expect(try PathCanonicalizer.canonicalPath(of: path) == path)
    }

    @Test("the query string is not part of the path check")
    func queryIgnored() async throws {
        #expect(try PathCanonicalizer.canonicalPath(of: "/health/live?next=%2F..%2F") == "/health/live")
        try await withTestGateway { client in
            let response = try await client.execute(uri: "/health/live?next=%2F..%2F", method: .get)
            #expect(response.status == .ok)
        }
    }
}
