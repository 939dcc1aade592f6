import HummingbirdBcrypt
public import PortcullisCore

/// bcrypt (from hummingbird-auth) at a configurable cost, on its own ``PasswordHashingPool`` so that the
/// ~0.2 s of CPU per hash never blocks an event loop, the cooperative pool or the database's threads. The
/// hash string carries its version and cost (`$2b$12$...`), so raising the cost rehashes old passwords as
/// their owners log in.
public struct BcryptPasswordHasher: PasswordHasher {
    public let cost: UInt8
    let pool: PasswordHashingPool

    public init(cost: UInt8 = 12, pool: PasswordHashingPool = .shared) {
        self.cost = cost
        self.pool = pool
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await self.pool.run { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, against hash: String) async throws -> Bool {
        try await self.pool.run { Bcrypt.verify(password, hash: hash) }
    }

    public var isSaturated: Bool { self.pool.isFull }

    public func needsRehash(_ hash: String) -> Bool {
        // "$2b$12$..." → cost 12.
        let parts = hash.split(separator: "$")
        guard parts.count >= 3, let cost = UInt8(parts[1]) else { return true }
        return cost < self.cost
    }
}
