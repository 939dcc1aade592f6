public import HTTPTypes
public import Hummingbird

/// Where modules register their HTTP routes, so that the ``RouteTable`` knows all of them.
///
/// A route declares no access of its own: what it demands is the rule of `policies/routes.yaml` that
/// matches it, decided by ``AuthorizationMiddleware`` before any handler runs. A test enumerates this
/// table and fails for any route no rule covers.
///
/// Paths are written as in the contract, with `{name}` for parameters: `registry.get("/flows/{id}") { ... }`.
public struct RouteRegistry {
    public typealias Context = GatewayRequestContext

    let router: Router<Context>
    public let table: RouteTable

    init(router: Router<Context>, table: RouteTable) {
        self.router = router
        self.table = table
    }

    public func on(
        _ template: String,
        method: HTTPRequest.Method,
        use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator
    ) {
        self.table.add(.init(method: method, template: template))
        self.router.on(RouterPath(Self.hummingbirdPath(template)), method: method, use: handler)
    }

    public func get(_ template: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        self.on(template, method: .get, use: handler)
    }

    public func post(_ template: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        self.on(template, method: .post, use: handler)
    }

    public func patch(_ template: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        self.on(template, method: .patch, use: handler)
    }

    public func put(_ template: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        self.on(template, method: .put, use: handler)
    }

    public func delete(_ template: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        self.on(template, method: .delete, use: handler)
    }

    /// `/flows/{id}` → `/flows/:id`, Hummingbird's parameter syntax.
    static func hummingbirdPath(_ template: String) -> String {
        template.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : segment
        }.joined(separator: "/")
    }
}
