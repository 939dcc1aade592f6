public import GatewayKit
public import Hummingbird
public import Logging
public import PortcullisCore
public import ServiceLifecycle

/// The gateway's HTTP side: one Hummingbird router whose middleware runs for every request, matched or
/// not, and the routes modules register on it.
///
/// Request id → log → error envelope → access step (canonical path, credentials, rule, recorded
/// decision) → body limit → 404/405 → handler. The middleware is added before any route, so it wraps every
/// endpoint and the router's not-found responder alike: nothing reaches a handler undecided or unrecorded.
public struct GatewayBuilder {
    public typealias Context = GatewayRequestContext

    public let configuration: GatewayConfiguration
    public let logger: Logger
    public let routes: RouteRegistry
    private let router: Router<Context>
    private let routeList: RouteList

    public init(configuration: GatewayConfiguration, access: AccessMiddleware, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        // HEAD is answered for every GET route, as HTTP clients and load balancers expect.
        let router = Router(context: Context.self, options: .autoGenerateHeadEndpoints)
        let routeList = RouteList()
        router.addMiddleware {
            RequestIDMiddleware()
            ClientAddressMiddleware(proxies: configuration.trustedProxies)
            RequestLogMiddleware()
            ErrorMiddleware()
            access
            BodyLimitMiddleware(limit: configuration.maxBodyBytes)
            RouteErrorMiddleware(routes: routeList)
        }
        self.router = router
        self.routeList = routeList
        self.routes = RouteRegistry(router: router)
    }

    /// The router, once every route is registered.
    public func buildRouter() -> Router<Context> {
        self.routeList.set(self.routes.routes)
        return self.router
    }

    /// The HTTP application, bound to the configured host and port, running `services` alongside the server.
    ///
    /// Services shut down in reverse order after the server has finished its in-flight requests, so list
    /// the database first.
    public func buildApplication(
        services: [any Service],
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> Application<RouterResponder<Context>> {
        let logger = self.logger
        let host = self.configuration.host
        return Application(
            router: self.buildRouter(),
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
