import Foundation
public import PortcullisCore

/// The policy test cases of `policies/tests/*.yaml`, and running them against a policy set.
///
/// ```yaml
/// cases:
///   - name: a tenant admin lists accounts
///     principal: {permissions: [tenant.all], tenant: acme}   # leave out for an anonymous caller
///     method: GET
///     path: /api/v1/users
///     expect: {outcome: allow, rule: accounts-read}          # reason is optional
/// ```
public struct PolicyTestSuite: Sendable {
    public struct Case: Sendable {
        public let file: String
        public let line: Int
        public let name: String
        public let principal: Principal?
        public let method: String
        public let path: String
        public let outcome: Decision.Outcome
        /// The rule expected to decide; `none` in the file means no rule matches.
        public let rule: String?
        public let reason: String?
    }

    public struct Result: Sendable {
        public let testCase: Case
        public let decision: Decision
        public var passed: Bool {
            self.decision.outcome == self.testCase.outcome && self.decision.rule == self.testCase.rule
                && (self.testCase.reason.map { $0 == self.decision.reason } ?? true)
        }
    }

    public struct Report: Sendable {
        public let results: [Result]
        /// Rules no case reaches: every rule should have a test.
        public let untestedRules: [String]
        public var passed: Bool { self.results.allSatisfy(\.passed) && self.untestedRules.isEmpty }
    }

    public let cases: [Case]

    /// Reads every `*.yaml` file of `directory`, sorted by name.
    public static func load(directory: String) throws(PolicyError) -> PolicyTestSuite {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        } catch {
            throw PolicyError(file: directory, reason: "cannot be read (is there a tests directory?)")
        }
        guard !names.isEmpty else { throw PolicyError(file: directory, reason: "holds no *.yaml test files") }
        var cases: [Case] = []
        for name in names {
            cases += try Self.cases(file: directory + "/" + name)
        }
        return PolicyTestSuite(cases: cases)
    }

    /// Decides every case with `policies` and lists the rules no case was decided by.
    public func run(against policies: PolicySet) -> Report {
        let results = self.cases.map { testCase in
            Result(testCase: testCase, decision: policies.decide(testCase.principal, method: testCase.method, path: testCase.path))
        }
        let decided = Set(results.compactMap(\.decision.rule))
        return Report(results: results, untestedRules: policies.routes.rules.map(\.id).filter { !decided.contains($0) })
    }

    private struct RawCase: Decodable {
        struct RawPrincipal: Decodable {
            let permissions: [String]?
            let scope: [String]?
            let tenant: String?
        }
        struct Expectation: Decodable {
            let outcome: String
            let rule: String
            let reason: String?
        }
        let name: String
        let principal: RawPrincipal?
        let method: String
        let path: String
        let expect: Expectation
    }

    private static func cases(file: String) throws(PolicyError) -> [Case] {
        var cases: [Case] = []
        for (raw, line) in try YAMLList.decode(RawCase.self, key: "cases", file: file) {
            guard let outcome = Decision.Outcome(rawValue: raw.expect.outcome) else {
                throw PolicyError(file: file, line: line, entry: "case '\(raw.name)'", reason: "expect.outcome must be allow or deny")
            }
            let principal = raw.principal.map { principal in
                Principal(
                    accountID: "policy-test", username: "policy-test", tenant: principal.tenant, type: .user, roles: [],
                    granted: Set(principal.permissions ?? []), scope: principal.scope.map(Set.init), tokenID: "policy-test",
                    tokenType: "access_token", expiresAt: nil, actor: nil
                )
            }
            cases.append(
                Case(
                    file: file, line: line, name: raw.name, principal: principal, method: raw.method.uppercased(), path: raw.path, outcome: outcome,
                    rule: raw.expect.rule == "none" ? nil : raw.expect.rule, reason: raw.expect.reason
                )
            )
        }
        return cases
    }
}
