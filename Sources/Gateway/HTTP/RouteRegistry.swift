public import HTTPTypes
public import Hummingbird
public import Policy
import PortcullisCore

/// Where modules register their HTTP routes. Every route goes through here with the access it demands, so
/// the ``RouteTable`` knows all of them and no handler runs without its access being decided first.
///
/// Paths are written as in the contract, with `{name}` for parameters:
/// `registry.get("/flows/{id}", access: .allOf(["flows.read"])) { ... }`.
public struct RouteRegistry {
    public typealias Context = GatewayRequestContext

    let router: Router<Context>
    public let table: RouteTable
    let authorizer: Authorizer?

    init(router: Router<Context>, table: RouteTable, authorizer: Authorizer?) {
        self.router = router
        self.table = table
        self.authorizer = authorizer
    }

    public func on(
        _ template: String,
        method: HTTPRequest.Method,
        access: RouteAccess,
        use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator
    ) {
        self.table.add(.init(method: method, template: template, access: access))
        let authorizer = self.authorizer
        self.router.on(RouterPath(Self.hummingbirdPath(template)), method: method) { request, context in
            try Self.enforce(access, context: context, authorizer: authorizer)
            return try await handler(request, context)
        }
    }

    public func get(
        _ template: String, access: RouteAccess, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator
    ) {
        self.on(template, method: .get, access: access, use: handler)
    }

    public func post(
        _ template: String, access: RouteAccess, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator
    ) {
        self.on(template, method: .post, access: access, use: handler)
    }

    public func patch(
        _ template: String, access: RouteAccess, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator
    ) {
        self.on(template, method: .patch, access: access, use: handler)
    }

    public func delete(
        _ template: String, access: RouteAccess, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator
    ) {
        self.on(template, method: .delete, access: access, use: handler)
    }

    /// Throws 401 or 403 unless `context`'s principal satisfies `access`. Without an authorizer (a gateway
    /// built without IAM) only public routes can be reached.
    static func enforce(_ access: RouteAccess, context: Context, authorizer: Authorizer?) throws {
        if access == .public { return }
        if context.principal == nil, let problem = context.credentialProblem {
            throw problem
        }
        guard let authorizer else {
            throw APIError.unauthorized("UNAUTHENTICATED", "Authentication is required.")
        }
        let decision = authorizer.decide(context.principal, access)
        guard !decision.allowed else { return }
        if decision.reason == "UNAUTHENTICATED" {
            throw APIError.unauthorized("UNAUTHENTICATED", "Authentication is required.")
        }
        let missing = decision.required.filter { permission in context.principal.map { !authorizer.holds($0, permission) } ?? true }
        throw APIError.forbidden("MISSING_PERMISSION", "Missing permission \(missing.joined(separator: ", "))")
    }

    /// `/flows/{id}` → `/flows/:id`, Hummingbird's parameter syntax.
    static func hummingbirdPath(_ template: String) -> String {
        template.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : segment
        }.joined(separator: "/")
    }
}
