import Foundation
import Gateway
import GatewayKit
import GatewayTestSupport
import Hummingbird
import IAM
import Messaging
import Policy
import PortcullisCore
import TestSupport
import Testing

@Suite("Every route is covered by policies/routes.yaml, and the policy tests pass")
struct RouteCoverageTests {
    @Test("each route registered in the router has a rule in policies/routes.yaml")
    func coverage() async throws {
        let store = try PolicyStore(directory: PortcullisProcess.policiesDirectory)
        // The route table does not need a running database: build the gateway exactly as serve does.
        try await TestDatabases.withDatabase(.sqlite) { database in
            let assembly = try GatewayAssembly(
                configuration: GatewayConfiguration(), database: database, policies: store, masterKey: MasterKey(base64: TestDatabases.masterKey)!,
                logger: TestDatabases.logger
            )
            let routes = assembly.makeGateway().routes.routes
            #expect(!routes.isEmpty)
            // Each route is registered once: a second registration of a method and template would shadow the first.
            let keys = routes.map { "\($0.method.rawValue) \($0.template)" }
            #expect(
                Set(keys).count == keys.count, "routes registered twice: \(Dictionary(grouping: keys) { $0 }.filter { $1.count > 1 }.keys.sorted())")
            var used = Set<String>()
            for route in routes {
                // A concrete path for the template: every parameter becomes a plain value.
                let path = "/" + route.template.split(separator: "/").map { $0.hasPrefix("{") ? "x1" : String($0) }.joined(separator: "/")
                let rule = store.current.routes.match(method: route.method.rawValue, path: path)
                #expect(rule != nil, "\(route.method.rawValue) \(route.template) has no rule in policies/routes.yaml")
                if let rule { used.insert(rule.id) }
            }
            // And no rule is left over for a route that no longer exists.
            let unused = store.current.routes.rules.map(\.id).filter { !used.contains($0) }
            #expect(unused.isEmpty, "rules that match no registered route: \(unused)")
        }
    }

    @Test("the shipped policy tests pass and test every rule")
    func shippedPolicyTests() throws {
        let policies = try PolicySet.load(directory: PortcullisProcess.policiesDirectory)
        let suite = try PolicyTestSuite.load(directory: PortcullisProcess.policiesDirectory + "/tests")
        let report = suite.run(against: policies)
        for result in report.results where !result.passed {
            Issue.record("\(result.testCase.file):\(result.testCase.line) \(result.testCase.name): got \(result.decision)")
        }
        #expect(report.untestedRules.isEmpty, "rules without a test case: \(report.untestedRules)")
    }
}
