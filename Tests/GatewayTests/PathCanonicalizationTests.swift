import GatewayKit
import GatewayTestSupport
import Hummingbird
import HummingbirdTesting
import PortcullisCore
import Testing

@testable import Gateway

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

    /// Every string of up to five characters from an alphabet of the characters the rules are about
    /// (about 300,000 targets) gets the same answer, path or refusal message, from the one-pass
    /// canonicaliser as from ``ReferenceCanonicalizer``, the earlier and plainer implementation it replaced.
    @Test("the one-pass canonicaliser agrees with the plain reference on every short target")
    func agreesWithReference() {
        let alphabet: [String] = ["/", ".", "%", "2", "e", "F", "a", "?", "#", "\\", " ", "é"]
        var targets: [String] = [""]
        var frontier: [String] = [""]
        for _ in 0..<5 {
            frontier = frontier.flatMap { prefix in alphabet.map { prefix + $0 } }
            targets += frontier
        }
        var disagreements: [String] = []
        for target in targets {
            let fast = Self.answer { () throws(APIError) -> String in try PathCanonicalizer.canonicalPath(of: target) }
            let plain = Self.answer { () throws(APIError) -> String in try ReferenceCanonicalizer.canonicalPath(of: target) }
            if fast != plain { disagreements.append("\(target.debugDescription): \(fast) vs \(plain)") }
        }
        #expect(targets.count > 270_000)
        #expect(disagreements.isEmpty, "\(disagreements.prefix(10))")
    }

    private static func answer(_ body: () throws(APIError) -> String) -> String {
        do {
            return "path " + (try body())
        } catch {
            return "refused: " + error.entries.map(\.message).joined(separator: "; ")
        }
    }
}

/// The canonicaliser before it became one pass over the bytes (kept as the specification the fast one is
/// checked against): split off the query, then each rule as its own scan.
private enum ReferenceCanonicalizer {
    static func canonicalPath(of target: String) throws(APIError) -> String {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard path.hasPrefix("/") else {
            throw invalid("The request path must start with '/'.")
        }
        if path.utf8.contains(where: { $0 < 0x21 || $0 > 0x7E || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "#") }) {
            throw invalid("The request path contains a character that must be percent-encoded.")
        }
        if path.contains("//") {
            throw invalid("The request path contains an empty segment ('//').")
        }
        if !path.utf8.contains(UInt8(ascii: "%")) {
            for segment in path.utf8.split(separator: UInt8(ascii: "/")) where segment.allSatisfy({ $0 == UInt8(ascii: ".") }) && segment.count <= 2 {
                throw invalid("The request path contains a '.' or '..' segment.")
            }
            return path
        }
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            guard let bytes = PathCanonicalizer.percentDecode(segment) else {
                throw invalid("The request path contains an invalid percent-encoding.")
            }
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw invalid("The request path is not valid UTF-8.")
            }
            if bytes.contains(0x2F) || bytes.contains(0x5C) {
                throw invalid("The request path contains an encoded '/' or '\\'.")
            }
            if bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                throw invalid("The request path contains NUL or a control character.")
            }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] {
                throw invalid("The request path contains a '.' or '..' segment.")
            }
        }
        return path
    }

    private static func invalid(_ message: String) -> APIError {
        .badRequest("INVALID_PATH", message)
    }
}
