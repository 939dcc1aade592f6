public import Logging
public import Messaging
public import Policy
public import PortcullisCore
public import Storage

/// What every module is built over: the shared infrastructure, created once by the assembly.
public struct ModuleEnvironment: Sendable {
    public let configuration: GatewayConfiguration
    public let database: any Database
    /// The durable event bus, its work queues and its tables: modules collaborate only through it.
    public let messaging: Messaging
    /// The live policy set: read `policies.current` at the moment of a decision, never a snapshot.
    public let policies: PolicyStore
    public let masterKey: MasterKey
    /// The time of day for everything a module stores or compares.
    public let clock: WallClock
    /// Password hashing, on its own bounded thread pool in `serve`; tests use a cheap one.
    public let passwordHasher: any PasswordHasher
    /// Lines for the operator's console, outside the log stream (a generated first password).
    public let console: @Sendable (String) -> Void
    /// What modules offer each other without importing each other.
    public let capabilities: ModuleCapabilities
    public let logger: Logger

    public init(
        configuration: GatewayConfiguration,
        database: any Database,
        messaging: Messaging,
        policies: PolicyStore,
        masterKey: MasterKey,
        clock: WallClock,
        passwordHasher: any PasswordHasher,
        console: @escaping @Sendable (String) -> Void,
        capabilities: ModuleCapabilities = ModuleCapabilities(),
        logger: Logger
    ) {
        self.capabilities = capabilities
        self.configuration = configuration
        self.database = database
        self.messaging = messaging
        self.policies = policies
        self.masterKey = masterKey
        self.clock = clock
        self.passwordHasher = passwordHasher
        self.console = console
        self.logger = logger
    }
}
