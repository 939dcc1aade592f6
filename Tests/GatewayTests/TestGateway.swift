import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Policy
import PortcullisCore
import Storage
import TestSupport

/// A body used by the test-only routes that exercise JSON input handling.
struct Widget: Codable, Sendable, ResponseEncodable {
    var name: String
    var count: Int
    var tags: [String]?
}

struct UnexpectedFailure: Error {
    let secret = "sql: SELECT * FROM secrets WHERE token = 'abc'"
}

/// Builds the gateway as `serve` does, plus test-only routes, and runs `body` against it in-process.
func withTestGateway<Result: Sendable>(
    maxBodyBytes: Int = 1024,
    checks: [any ReadinessCheck] = [],
    _ body: @Sendable (any TestClientProtocol) async throws -> Result
) async throws -> Result {
    let gateway = GatewayBuilder(
        configuration: GatewayConfiguration(maxBodyBytes: maxBodyBytes),
        security: nil,
        logger: TestDatabases.logger
    )
    HealthRoutes(checks: checks, policies: try PolicyStore(directory: PortcullisProcess.policiesDirectory)).register(on: gateway.routes)
    gateway.routes.post("/test/widgets") { request, context in
        try await JSONBody.decode(Widget.self, from: request, context: context)
    }
    gateway.routes.get("/test/widgets/{id}") { _, context in
        Widget(name: context.parameters.get("id") ?? "", count: 1)
    }
    gateway.routes.get("/test/failure") { _, _ -> Widget in
        throw UnexpectedFailure()
    }
    let app = Application(responder: gateway.buildResponder(), logger: TestDatabases.logger)
    return try await app.test(.router, body)
}

extension TestResponse {
    /// The decoded error envelope, or nil when the body is not one.
    var envelope: ErrorEnvelope? {
        try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(self.body.readableBytesView))
    }

    var bodyText: String {
        String(buffer: self.body)
    }
}

/// A readiness check with a fixed answer.
struct FixedCheck: ReadinessCheck {
    let name: String
    let ready: Bool
    func check() async -> ReadinessResult { ReadinessResult(ready: self.ready) }
}
