import Testing

@testable import Policy

/// `RouteRule` matches with segments it marks once (the request path's hot loop); `PathTemplate.matches`
/// is the plain reading of the same rule, used by the route registry. They must agree on everything.
@Suite("Route rule matching")
struct RouteRuleMatchingTests {
    static let templates = ["/a/{}", "/a/{x", "/a/x}", "/a/{id}", "/café/{x}", "/a/b", "/", "/{a}/{b}", "/a/{id}/c", "/{x}"]
    static let paths = [
        "/a/{}", "/a/{x", "/a/x}", "/a/b", "/a", "/a/b/c", "/café/1", "/cafe\u{301}/1", "/", "/a/1/c", "/a/1/d", "/x", "/A/b", "/a/",
    ]

    @Test("a rule matches exactly the paths its template matches, for every template and path of a hostile set")
    func agreesWithTemplates() {
        for template in Self.templates {
            let rule = RouteRule(id: "r", methods: ["GET"], path: template, access: .authenticated, recorded: true, line: 1)
            for path in Self.paths {
                #expect(
                    rule.matches(method: "GET", path: path) == PathTemplate.matches(template, path: path), "template \(template), path \(path)")
                #expect(!rule.matches(method: "POST", path: path), "template \(template), path \(path): another method")
            }
        }
        // The set is not trivial: some pairs match, some do not, and a parameter matches any one segment.
        #expect(PathTemplate.matches("/a/{id}", path: "/a/b"))
        #expect(!PathTemplate.matches("/a/{}", path: "/a/b"), "{} is a literal, not a parameter")
        #expect(PathTemplate.matches("/a/{}", path: "/a/{}"))
    }

    @Test("a rule with the right path and the wrong method falls through to a later rule")
    func methodFallsThrough() {
        let policy = RoutePolicy(rules: [
            RouteRule(id: "get", methods: ["GET"], path: "/a/{id}", access: .authenticated, recorded: true, line: 1),
            RouteRule(id: "post", methods: ["POST"], path: "/a/b", access: .authenticated, recorded: true, line: 2),
        ])
        #expect(policy.match(method: "POST", path: "/a/b")?.id == "post")
        #expect(policy.match(method: "get", path: "/a/b")?.id == "get")
        #expect(policy.match(method: "HEAD", path: "/a/b")?.id == "get", "HEAD falls back to GET")
        #expect(policy.match(method: "DELETE", path: "/a/b") == nil)
    }
}
