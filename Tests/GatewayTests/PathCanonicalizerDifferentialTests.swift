import PortcullisCore
import Testing

@testable import Gateway

/// The one-pass canonicaliser checked against the plainer implementation it replaced.
@Suite("Path canonicalisation, one pass against the reference")
struct PathCanonicalizerDifferentialTests {
    /// Every string of up to five characters from an alphabet of what the rules are about (579,195
    /// targets): separators, dots, escapes, the query and fragment marks, the edges of printable ASCII
    /// (space, `~`, DEL), a precomposed `é` and a lone combining mark. Each gets the same answer, path or
    /// refusal message, from ``PathCanonicalizer`` as from ``ReferenceCanonicalizer``.
    @Test("the one-pass canonicaliser agrees with the plain reference on every short target")
    func agreesWithReference() {
        let alphabet: [String] = ["/", ".", "%", "2", "e", "F", "?", "#", "\\", " ", "~", "\u{7F}", "é", "\u{301}"]
        var targets: [String] = [""]
        var frontier: [String] = [""]
        for _ in 0..<5 {
            frontier = frontier.flatMap { prefix in alphabet.map { prefix + $0 } }
            targets += frontier
        }
        var disagreements: [String] = []
        for target in targets {
            let fast = Self.answer { () throws(APIError) -> String in String(try PathCanonicalizer.canonicalPath(of: target)) }
            let plain = Self.answer { () throws(APIError) -> String in try ReferenceCanonicalizer.canonicalPath(of: target) }
            if fast != plain { disagreements.append("\(target.debugDescription): \(fast) vs \(plain)") }
        }
        #expect(targets.count == 579_195)
        #expect(disagreements.count == 0, "\(disagreements.prefix(10))")
    }

    /// The query starts at the first `?` byte, also when a combining mark follows it (splitting by
    /// characters, as an earlier version did, saw no `?` there and refused the whole target as non-ASCII).
    @Test("the query starts at the first '?' byte", arguments: [("/a?\u{301}x", "/a"), ("/a??b", "/a"), ("/?", "/"), ("/a/b?c/../d", "/a/b")])
    func queryByByte(target: String, path: String) throws {
        #expect(PathCanonicalizer.pathPart(of: target) == path)
        #expect(try PathCanonicalizer.canonicalPath(of: target) == path)
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
/// checked against): split off the query at its first `?` byte, then each rule as its own scan.
private enum ReferenceCanonicalizer {
    static func canonicalPath(of target: String) throws(APIError) -> String {
        let path = String(decoding: target.utf8.prefix { $0 != UInt8(ascii: "?") }, as: UTF8.self)
        guard path.utf8.first == UInt8(ascii: "/") else {
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
