import Crypto
import Foundation
import PortcullisCore

/// One rule of `policies/routes.yaml`.
public struct RouteRule: Sendable, Hashable {
    public let id: String
    public let methods: Set<String>
    /// The template, `{name}` for a path parameter.
    public let path: String
    public let access: RouteAccess
    /// False for an operational probe (`record: false`: public GET only, e.g. `/health/live`): an allowed
    /// request is served without a route record, so a probe neither floods the audit log nor fails while
    /// the database is away. Refusals are recorded as always.
    public let recorded: Bool
    /// Where the rule stands in its file, for error messages.
    public let line: Int

    /// The template's segments, split once: every request is matched against them.
    let segments: [Substring]
    /// Each segment that must be matched as written; nil for a parameter (`{name}`), which matches any.
    let literals: [Substring?]

    init(id: String, methods: Set<String>, path: String, access: RouteAccess, recorded: Bool, line: Int) {
        self.id = id
        self.methods = methods
        self.path = path
        self.access = access
        self.recorded = recorded
        self.line = line
        self.segments = PathTemplate.segments(of: path)
        self.literals = self.segments.map { PathTemplate.isParameter($0) ? nil : $0 }
    }

    /// Whether this rule matches `method` and the canonical `path`.
    public func matches(method: String, path: String) -> Bool {
        self.matches(upperCasedMethod: method.uppercased(), segments: PathTemplate.segments(of: path))
    }

    /// The path first (a count, then the literal segments), the method last: every request is matched
    /// against the rules in order, and most of them differ from it in their path.
    func matches(upperCasedMethod method: String, segments requested: [Substring]) -> Bool {
        guard requested.count == self.literals.count else { return false }
        for (literal, segment) in zip(self.literals, requested) {
            if let literal, literal != segment { return false }
        }
        return self.methods.contains(method)
    }

    /// Whether every request this rule's `other` matches is matched by this rule first.
    func shadows(_ other: RouteRule) -> Bool {
        guard other.methods.isSubset(of: self.methods), self.segments.count == other.segments.count else { return false }
        return zip(self.segments, other.segments).allSatisfy { mine, theirs in
            PathTemplate.isParameter(mine) || (!PathTemplate.isParameter(theirs) && mine == theirs)
        }
    }
}

/// The ordered route rules, validated against the permission catalog, with the revision of the policy files.
public struct RoutePolicy: Sendable {
    public let rules: [RouteRule]

    /// The first rule matching `method` and `path`; nil means no route (404, a recorded deny).
    public func match(method: String, path: String) -> RouteRule? {
        let method = method.uppercased()
        let requested = PathTemplate.segments(of: path)
        if method == "HEAD", let rule = self.rules.first(where: { $0.matches(upperCasedMethod: "HEAD", segments: requested) }) {
            return rule
        }
        let effective = method == "HEAD" ? "GET" : method
        return self.rules.first { $0.matches(upperCasedMethod: effective, segments: requested) }
    }

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    private struct RawRule: Decodable {
        struct Requirement: Decodable {
            let allOf: [String]?
            let anyOf: [String]?
        }
        let id: String
        let methods: [String]
        let path: String
        let auth: String?
        let require: Requirement?
        let record: Bool?
    }

    /// Reads and validates `file`: unknown permissions, duplicate ids, malformed rules and rules that an
    /// earlier rule makes unreachable are refused with the file, the line and the reason.
    static func load(file: String, catalog: PermissionCatalog) throws(PolicyError) -> RoutePolicy {
        var rules: [RouteRule] = []
        var ids = Set<String>()
        for (raw, line) in try YAMLList.decode(RawRule.self, key: "rules", file: file) {
            let rule = try Self.rule(raw, line: line, file: file, catalog: catalog)
            guard ids.insert(rule.id).inserted else {
                throw PolicyError(file: file, line: line, entry: "rule '\(rule.id)'", reason: "the id is used twice")
            }
            if let earlier = rules.first(where: { $0.shadows(rule) }) {
                throw PolicyError(
                    file: file, line: line, entry: "rule '\(rule.id)'",
                    reason: "unreachable: rule '\(earlier.id)' (line \(earlier.line)) matches every request it would"
                )
            }
            rules.append(rule)
        }
        return RoutePolicy(rules: rules)
    }

    private static func rule(_ raw: RawRule, line: Int, file: String, catalog: PermissionCatalog) throws(PolicyError) -> RouteRule {
        let entry = "rule '\(raw.id)'"
        func fail(_ reason: String) -> PolicyError { PolicyError(file: file, line: line, entry: entry, reason: reason) }
        guard !raw.id.isEmpty else { throw fail("a rule needs an id") }
        let methods = Set(raw.methods.map { $0.uppercased() })
        guard !methods.isEmpty, methods.isSubset(of: knownMethods) else { throw fail("methods must be HTTP methods (GET, POST, ...)") }
        guard raw.path.hasPrefix("/"), !raw.path.contains("//"), !raw.path.contains("?") else {
            throw fail("path must be a template like /flows/{id}")
        }
        let access: RouteAccess
        switch (raw.auth, raw.require) {
        case ("public"?, nil): access = .public
        case ("public"?, _?): throw fail("a public rule cannot require permissions")
        case ("authenticated"?, nil), (nil, nil): access = .authenticated
        case (nil, let requirement?), ("authenticated"?, let requirement?):
            switch (requirement.allOf, requirement.anyOf) {
            case (let all?, nil) where !all.isEmpty: access = .allOf(all)
            case (nil, let any?) where !any.isEmpty: access = .anyOf(any)
            default: throw fail("require needs exactly one non-empty allOf or anyOf")
            }
            for permission in requirement.allOf ?? requirement.anyOf ?? [] where !catalog.contains(permission) {
                throw fail("unknown permission '\(permission)'")
            }
        case (let other?, _): throw fail("auth must be public or authenticated, not '\(other)'")
        }
        let recorded = raw.record ?? true
        if !recorded {
            guard access == .public, methods.isSubset(of: ["GET", "HEAD"]) else {
                throw fail("record: false is only for public GET probes (an unrecorded request must carry no identity and change nothing)")
            }
        }
        return RouteRule(id: raw.id, methods: methods, path: raw.path, access: access, recorded: recorded, line: line)
    }

    /// A short, stable hash of the policy files' contents: changes whenever any of them changes.
    static func revision(of files: [String]) -> String {
        var hasher = SHA256()
        for file in files {
            hasher.update(data: (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data())
        }
        return String(Hex.encode(hasher.finalize()).prefix(16))
    }
}
