public import Hummingbird
public import IAM
public import Logging
public import Policy
public import PortcullisCore
public import ServiceLifecycle

/// Composes the gateway: the pre-routing pipeline, the router and every module's routes.
///
/// ```swift
/// var gateway = GatewayBuilder(configuration: configuration, logger: logger)
/// HealthRoutes(checks: checks).register(on: gateway.routes)
/// let app = gateway.buildApplication(services: [database])
/// ```
public struct GatewayBuilder {
    public typealias Context = GatewayRequestContext

    /// What the gateway needs to authenticate, decide and record. `serve` always has it; it is absent only
    /// in tests of the bare HTTP pipeline (path, body and error handling), which serve test routes.
    public struct Security: Sendable {
        public let verifier: TokenVerifier
        public let policies: PolicyStore
        public let journal: DecisionJournal

        public init(verifier: TokenVerifier, policies: PolicyStore, journal: DecisionJournal) {
            self.verifier = verifier
            self.policies = policies
            self.journal = journal
        }
    }

    public let configuration: GatewayConfiguration
    public let logger: Logger
    public let routes: RouteRegistry
    let security: Security?
    private let router: Router<Context>

    public init(configuration: GatewayConfiguration, security: Security?, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.security = security
        // HEAD is answered for every GET route, as HTTP clients and load balancers expect.
        let router = Router(context: Context.self, options: .autoGenerateHeadEndpoints)
        let table = RouteTable()
        // Added before any route, so it wraps every endpoint and the router's not-found responder.
        router.add(middleware: RouteErrorMiddleware(table: table))
        self.router = router
        self.routes = RouteRegistry(router: router, table: table)
    }

    /// Request id → log → errors → canonical path → authenticate → match rule, decide, record → body limit →
    /// router. Every request takes this path; nothing reaches a handler undecided or unrecorded.
    public func buildResponder() -> ChainedResponder<Context> {
        var middlewares: [any RouterMiddleware<Context>] = [
            RequestIDMiddleware(),
            RequestLogMiddleware(),
            ErrorMiddleware(),
            CanonicalPathMiddleware(deferRefusal: self.security != nil),
        ]
        if let security = self.security {
            middlewares.append(AuthenticationMiddleware(verifier: security.verifier))
            middlewares.append(AuthorizationMiddleware(policies: security.policies, journal: security.journal))
        }
        middlewares.append(BodyLimitMiddleware(limit: self.configuration.maxBodyBytes))
        return ChainedResponder(middlewares: middlewares, final: self.router.buildResponder())
    }

    /// The HTTP application, bound to the configured host and port, running `services` alongside the server.
    ///
    /// Services shut down in reverse order after the server has finished its in-flight requests, so list
    /// the database first.
    public func buildApplication(
        services: [any Service],
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> Application<ChainedResponder<Context>> {
        let logger = self.logger
        let host = self.configuration.host
        return Application(
            responder: self.buildResponder(),
            configuration: .init(address: .hostname(host, port: self.configuration.port), serverName: nil),
            services: services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("portcullis listening", metadata: ["host": .string(host), "port": .stringConvertible(port)])
                await onServerRunning(port)
            },
            logger: logger
        )
    }
}
