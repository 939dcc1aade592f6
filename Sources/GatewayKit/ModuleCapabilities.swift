import Synchronization

/// What one module offers the others without their importing it: the provider registers a capability
/// under a protocol type while it is built, a consumer looks it up when it needs it (not in its own
/// `init`: modules are built in list order).
///
/// ```swift
/// environment.capabilities.provide((any AccountDirectory).self, directory)        // IAM, in init
/// let directory = try environment.capabilities.require((any AccountDirectory).self)  // flows, per request
/// ```
public final class ModuleCapabilities: Sendable {
    private let storage = Mutex<[ObjectIdentifier: any Sendable]>([:])

    public init() {}

    /// Registers `value` as the one provider of `type`; a second provider is a composition error.
    public func provide<Capability: Sendable>(_ type: Capability.Type, _ value: Capability) throws {
        try self.storage.withLock { storage in
            guard storage[ObjectIdentifier(type)] == nil else { throw AssemblyError(description: "two modules provide \(type)") }
            storage[ObjectIdentifier(type)] = value
        }
    }

    /// The provider of `type`, or nil when no module in the list provides it.
    public func get<Capability: Sendable>(_ type: Capability.Type) -> Capability? {
        self.storage.withLock { $0[ObjectIdentifier(type)] } as? Capability
    }

    /// The provider of `type`; throws when no module in the list provides it (a composition error).
    public func require<Capability: Sendable>(_ type: Capability.Type) throws -> Capability {
        guard let value = self.get(type) else { throw AssemblyError(description: "no module provides \(type)") }
        return value
    }
}

/// The module list cannot be composed (a configuration error of the build, found at start-up).
public struct AssemblyError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}
