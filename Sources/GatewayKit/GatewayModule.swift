public import Foundation
public import ServiceLifecycle
public import Storage

/// Everything one module brings to the gateway, declared in one place.
///
/// The gateway composes modules from one list (`Modules.all` in the `Gateway` target): `serve`,
/// `migrate` and every test build the same list through `GatewayAssembly`. Only ``migrations`` is
/// static, so that `migrate` needs no running module; everything else comes from an instance built over
/// the shared ``ModuleEnvironment``.
///
/// ```swift
/// public struct FlowModule: GatewayModule {
///     public static let name = "flows"
///     public static let migrations = FlowMigrations.all
///     let flows: FlowStore
///     public init(environment: ModuleEnvironment) throws { self.flows = FlowStore(database: environment.database) }
///     public func registerRoutes(on routes: RouteRegistry) { FlowRoutes(flows: self.flows).register(on: routes) }
/// }
/// ```
public protocol GatewayModule: Sendable {
    /// A short unique name, for logs and readiness.
    static var name: String { get }
    /// The module's tables, in the order they must be applied. Names must be unique across modules.
    static var migrations: [Migration] { get }

    /// Builds the module's parts. Starts nothing: the services run once the assembly runs them.
    init(environment: ModuleEnvironment) throws

    /// The module's routes. A route declares no access of its own: the rule of `policies/routes.yaml` that
    /// matches it decides, before any handler runs.
    func registerRoutes(on routes: RouteRegistry)

    /// Background work that runs next to the HTTP server, each under the gateway's supervisor
    /// (restarted with backoff when it stops by itself). Read once by the assembly; build the services
    /// in `init`, not on every read.
    var services: [ModuleService] { get }

    /// Dependencies of this module reported in `/health/ready`.
    var readinessChecks: [any ReadinessCheck] { get }

    /// The first start-up step, after the migrations and before any module's ``prepare()``: bind the
    /// module's bus groups, so that no event another module publishes while it prepares is missed.
    func bind() async throws

    /// Start-up steps after every module has bound, and before the first request (bind a bus group, sync rows from
    /// the policy files, create the first admin). A step that throws stops start-up. The module's
    /// ``services`` start next to the server while these run: a service that needs the module's tables
    /// must wait for them (the bus consumers retry until their group exists).
    func prepare() async throws

    /// One housekeeping pass (every ten minutes): prune what would grow forever, as of `now`. Returns how
    /// many rows went, by kind, for the log.
    func prune(now: Date) async throws -> [String: Int]

    /// After a policy reload (SIGHUP): bring rows derived from the policy files in line.
    func policiesReloaded() async throws

    /// Verifies bearer tokens for the gateway's access step. Exactly one module (identity) provides it.
    var authenticator: (any BearerAuthenticator)? { get }

    /// Keeps the gateway's decision records. Exactly one module (audit) provides it.
    var decisionLog: (any DecisionLog)? { get }
}

extension GatewayModule {
    public var services: [ModuleService] { [] }
    public var readinessChecks: [any ReadinessCheck] { [] }
    public func bind() async throws {}
    public func prepare() async throws {}
    public func prune(now: Date) async throws -> [String: Int] { [:] }
    public func policiesReloaded() async throws {}
    public var authenticator: (any BearerAuthenticator)? { nil }
    public var decisionLog: (any DecisionLog)? { nil }
}

/// A background service of a module, with the unique name it is supervised and reported under.
public struct ModuleService: Sendable {
    public let name: String
    public let service: any Service

    public init(_ name: String, _ service: any Service) {
        self.name = name
        self.service = service
    }
}
