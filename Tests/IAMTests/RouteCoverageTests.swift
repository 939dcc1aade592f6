import Foundation
import Gateway
import Hummingbird
import IAM
import Messaging
import Policy
import PortcullisCore
import TestSupport
import Testing

@Suite("Every route is covered by policies/routes.yaml")
struct RouteCoverageTests {
    @Test("each registered route has a rule that matches it and demands the same access")
    func coverage() async throws {
        let policies = try PolicySet.load(directory: PortcullisProcess.policiesDirectory)
        let configuration = GatewayConfiguration()
        // The route table does not need a running database: build the gateway exactly as serve does.
        try await TestDatabases.withDatabase(.sqlite) { database in
            let messaging = Messaging(database: database, logger: TestDatabases.logger)
            let identity = Identity(
                database: database, configuration: configuration, policies: policies, masterKey: MasterKey(base64: TestDatabases.masterKey)!,
                bus: messaging.bus, logger: TestDatabases.logger
            )
            let gateway = GatewayBuilder(
                configuration: configuration, security: .init(verifier: identity.verifier, authorizer: Authorizer(catalog: policies.catalog)),
                logger: TestDatabases.logger
            )
            HealthRoutes(checks: []).register(on: gateway.routes)
            ModuleRoutes.register(
                on: gateway.routes, configuration: configuration, identity: identity, messaging: messaging,
                masterKey: MasterKey(base64: TestDatabases.masterKey)!
            )
            let routes = gateway.routes.table.routes
            #expect(routes.count >= 40)
            for route in routes {
                // A concrete path for the template: every parameter becomes a plain value.
                let path = route.template.split(separator: "/").map { $0.hasPrefix("{") ? "x1" : String($0) }.joined(separator: "/")
                let rule = policies.routes.match(method: route.method.rawValue, path: "/" + path)
                #expect(rule != nil, "\(route.method.rawValue) \(route.template) has no rule in policies/routes.yaml")
                #expect(
                    rule?.access == route.access, "\(route.method.rawValue) \(route.template): the rule '\(rule?.id ?? "-")' demands other access")
            }
        }
    }
}
