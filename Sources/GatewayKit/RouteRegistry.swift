public import HTTPTypes
public import Hummingbird
import Policy

/// Where modules register their HTTP routes.
///
/// A route declares no access of its own: what it demands is the rule of `policies/routes.yaml` that
/// matches it, decided by the gateway's access step before any handler runs. A test enumerates
/// ``routes`` and fails for any route no rule covers.
///
/// Paths are written as in the contract, with `{name}` for parameters: `registry.get("/flows/{id}") { ... }`.
public struct RouteRegistry {
    public typealias Context = GatewayRequestContext

    let router: Router<Context>

    public init(router: Router<Context>) {
        self.router = router
    }

    /// A route whose handler may act (write, enqueue, publish): the request's route decision is durable
    /// before the handler starts (``ResourceDecisionRecorder/settle()``), whatever the method.
    public func on(
        _ template: String,
        method: HTTPRequest.Method,
        use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator
    ) {
        self.router.on(RouterPath(Self.hummingbirdPath(template)), method: method) { request, context in
            try await context.decisions.settle()
            return try await handler(request, context)
        }
    }

    /// A GET route whose handler may act: like ``on(_:method:use:)``, the route record is durable before it
    /// starts. Register a handler that only reads with ``read(_:use:)`` instead.
    public func get(_ template: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        self.on(template, method: .get, use: handler)
    }

    /// A GET route whose handler only reads (no write, enqueue or publish of any kind): its route record may
    /// wait for the handler's first resource decision and be committed with it, one commit for both. The
    /// gateway makes it durable before the answer leaves, and a read whose records cannot be written
    /// answers 503 with nothing it read.
    public func read(_ template: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        self.router.on(RouterPath(Self.hummingbirdPath(template)), method: .get, use: handler)
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

    /// Every route registered so far, read from the router's own list, with templates in the contract's
    /// `{name}` syntax. HEAD routes the router generates for GET routes are not listed.
    public var routes: [Route] {
        self.router.routes.filter { $0.method != .head }.map { Route(method: $0.method, template: Self.template($0.path.description)) }
    }

    /// `/flows/{id}` → `/flows/:id`, Hummingbird's parameter syntax.
    static func hummingbirdPath(_ template: String) -> String {
        template.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : segment
        }.joined(separator: "/")
    }

    /// `/flows/:id` → `/flows/{id}`.
    static func template(_ hummingbirdPath: String) -> String {
        let path = hummingbirdPath.hasPrefix("/") ? hummingbirdPath : "/" + hummingbirdPath
        return path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix(":") ? "{" + segment.dropFirst() + "}" : String(segment)
        }.joined(separator: "/")
    }
}

/// One registered route. Templates use `{name}` for a path parameter, e.g. `/flows/{id}/start`.
public struct Route: Sendable, Hashable, CustomStringConvertible {
    public let method: HTTPRequest.Method
    public let template: String

    public init(method: HTTPRequest.Method, template: String) {
        self.method = method
        self.template = template
    }

    /// Whether `path` (already canonical) fits this template.
    public func matches(path: String) -> Bool {
        PathTemplate.matches(self.template, path: path)
    }

    public var description: String { "\(self.method.rawValue) \(self.template)" }
}
