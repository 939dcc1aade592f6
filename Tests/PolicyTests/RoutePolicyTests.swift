import Foundation
import Policy
import Testing

@Suite("Route policy")
struct RoutePolicyTests {
    static func load(_ routes: String) throws -> PolicySet {
        let directory = try PolicySetTests.directory(
            permissions: PolicySetTests.minimalPermissions, roles: PolicySetTests.minimalRoles, routes: routes
        )
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try PolicySet.load(directory: directory)
    }

    @Test("the first matching rule decides; static paths can precede templates")
    func matching() throws {
        let policies = try Self.load(
            """
            rules:
              - {id: me, methods: [GET], path: /users/me, auth: authenticated}
              - {id: user, methods: [GET, PATCH], path: "/users/{id}", require: {anyOf: [flows.read]}}
            """
        )
        #expect(policies.routes.match(method: "GET", path: "/users/me")?.id == "me")
        #expect(policies.routes.match(method: "GET", path: "/users/42")?.id == "user")
        #expect(policies.routes.match(method: "patch", path: "/users/42")?.access == .anyOf(["flows.read"]))
        #expect(policies.routes.match(method: "DELETE", path: "/users/42") == nil)
        #expect(policies.routes.match(method: "GET", path: "/users/42/extra") == nil)
    }

    @Test(
        "bad rules are refused with file, line and reason",
        arguments: [
            (
                "rules:\n  - {id: a, methods: [GET], path: /a, require: {allOf: [flows.reed]}}",
                ":2: rule 'a': unknown permission 'flows.reed'"
            ),
            (
                "rules:\n  - {id: a, methods: [GET], path: /a}\n  - {id: a, methods: [POST], path: /a}",
                ":3: rule 'a': the id is used twice"
            ),
            (
                "rules:\n  - {id: any, methods: [GET], path: \"/a/{id}\"}\n  - {id: one, methods: [GET], path: /a/b}",
                ":3: rule 'one': unreachable: rule 'any' (line 2)"
            ),
            ("rules:\n  - {id: a, methods: [GET], path: /a, auth: public, require: {allOf: [flows.read]}}", ":2: rule 'a': a public rule"),
            ("rules:\n  - {id: a, methods: [FETCH], path: /a}", ":2: rule 'a': methods must be HTTP methods"),
            ("rules:\n  - {id: a, methods: [GET], path: a/b}", ":2: rule 'a': path must be a template"),
            ("rules:\n  - {id: a, methods: [GET], path: /a, auth: maybe}", ":2: rule 'a': auth must be public or authenticated"),
            ("rules:\n  - {id: a, methods: [GET], path: /a, record: false}", ":2: rule 'a': record: false is only for public GET probes"),
            (
                "rules:\n  - {id: a, methods: [POST], path: /a, auth: public, record: false}",
                ":2: rule 'a': record: false is only for public GET"
            ),
            ("rules:\n  - {id: a, path: /a}", ":2: missing 'methods'"),
            ("nothing: here", "needs a list under 'rules'"),
        ]
    )
    func invalid(routes: String, expected: String) {
        #expect {
            _ = try Self.load(routes)
        } throws: { error in
            let description = "\(error)"
            return description.contains("routes.yaml") && description.contains(expected)
        }
    }

    @Test("the revision is stable for the same files and changes with any of them")
    func revision() throws {
        let first = try Self.load(PolicySetTests.minimalRoutes).revision
        #expect(first.count == 16)
        #expect(try Self.load(PolicySetTests.minimalRoutes).revision == first)
        #expect(try Self.load(PolicySetTests.minimalRoutes + "\n# a comment").revision != first)
    }

    @Test("the shipped routes.yaml loads")
    func shipped() throws {
        let policies = try PolicySet.load(directory: PolicySetTests.shipped)
        #expect(policies.routes.rules.count >= 40)
        #expect(policies.routes.match(method: "POST", path: "/api/v1/tokens/introspect")?.id == "tokens-introspect")
        #expect(policies.routes.match(method: "GET", path: "/api/v1/tokens/abc")?.id == "token-read")
    }
}
