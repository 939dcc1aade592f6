import Testing

@testable import Policy

@Suite("Path templates")
struct PathTemplateTests {
    @Test(
        "segments split at '/' bytes, empty ones left out",
        arguments: [
            ("/flows/{id}/start", ["flows", "{id}", "start"]),
            ("//a///b/", ["a", "b"]),
            ("/", []),
            ("", []),
            ("/café/ünï", ["café", "ünï"]),
            ("/e\u{301}/x", ["e\u{301}", "x"]),
        ])
    func segments(text: String, expected: [String]) {
        #expect(PathTemplate.segments(of: text).map(String.init) == expected)
    }

    @Test("a template matches paths with the same segments, a parameter any one segment")
    func matches() {
        #expect(PathTemplate.matches("/flows/{id}/start", path: "/flows/abc/start"))
        #expect(PathTemplate.matches("/café/{x}", path: "/café/1"))
        #expect(!PathTemplate.matches("/flows/{id}/start", path: "/flows/abc/stop"))
        #expect(!PathTemplate.matches("/flows/{id}", path: "/flows/abc/start"))
        #expect(!PathTemplate.matches("/flows/{id}", path: "/flows"))
    }
}
