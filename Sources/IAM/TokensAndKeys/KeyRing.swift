import Crypto
public import Foundation
import JWTKit
public import Logging
public import PortcullisCore
public import Storage

/// The signing keys of access tokens: ES256, private keys sealed with AES-GCM under a key derived from the
/// master key, shared by every replica through the database.
///
/// Rotation publishes the next key ahead of use (it appears in the JWKS before it signs anything) and
/// keeps each replaced key verifiable until every token it signed has expired.
public actor KeyRing {
    /// A signing key as the ring holds it.
    struct SigningKey: Sendable {
        let kid: String
        let privateKey: ES256PrivateKey
        /// The same key as swift-crypto holds it.
        let rawKey: P256.Signing.PrivateKey
        let x: String
        let y: String
        let activatesAt: Date
        let expiresAt: Date?
    }

    /// The only algorithm tokens may name.
    public static let algorithm = "ES256"

    private let database: any Database
    private let sealer: SecretSealer
    private let tokenLifetime: Duration
    private let clock: WallClock
    private let logger: Logger
    private var keys: [String: SigningKey] = [:]
    private var collection = JWTKeyCollection()
    private var lastRefresh = Date.distantPast
    /// The verifiers of the loaded keys, for checking signatures without a hop to this actor.
    public nonisolated let signatures = AccessTokenSignatures()

    public init(
        database: any Database, masterKey: MasterKey, tokenLifetime: Duration, logger: Logger, clock: WallClock
    ) {
        self.database = database
        self.sealer = SecretSealer(masterKey: masterKey, purpose: "signing-keys")
        self.tokenLifetime = tokenLifetime
        self.logger = logger
        self.clock = clock
    }

    /// Loads the keys and makes sure one can sign now, creating the first key on a fresh database.
    public func start() async throws {
        try await self.refresh()
        if self.signingKey() == nil {
            _ = try await self.rotate(publishAhead: .zero)
        }
    }

    /// Re-reads the keys from the database (another replica may have rotated).
    public func refresh() async throws {
        let nowMS = Timestamp.milliseconds(self.clock.now)
        let rows = try await self.database.query(
            """
            SELECT kid, sealed_private_key, public_x, public_y, activates_at, expires_at FROM iam_signing_keys
            WHERE expires_at IS NULL OR expires_at > \(nowMS) ORDER BY activates_at
            """
        )
        var keys: [String: SigningKey] = [:]
        let collection = JWTKeyCollection()
        for row in rows {
            let kid = try row.string("kid")
            let privateKey: ES256PrivateKey
            let rawKey: P256.Signing.PrivateKey
            do {
                guard let raw = self.sealer.open(try row.bytes("sealed_private_key"), boundTo: kid) else {
                    throw KeyRingError.unsealable(kid: kid)
                }
                rawKey = try P256.Signing.PrivateKey(rawRepresentation: raw)
                privateKey = try ES256PrivateKey(backing: rawKey)
            } catch {
                // A key sealed under another master key is useless here; fail closed rather than sign with nothing.
                throw KeyRingError.unsealable(kid: kid)
            }
            keys[kid] = SigningKey(
                kid: kid, privateKey: privateKey, rawKey: rawKey, x: try row.string("public_x"), y: try row.string("public_y"),
                activatesAt: Timestamp.date(milliseconds: try row.int("activates_at")),
                expiresAt: try row.optionalInt("expires_at").map(Timestamp.date(milliseconds:))
            )
            await collection.add(ecdsa: privateKey, kid: JWKIdentifier(string: kid))
        }
        // JWTKeyCollection treats the first key as a default that verifies tokens without a kid: remove it.
        _ = await collection.clearDefault()
        var verifiers: [String: any JWTAlgorithm] = [:]
        for kid in keys.keys {
            verifiers[kid] = try await collection.getKey(for: JWKIdentifier(string: kid), alg: Self.algorithm)
        }
        self.keys = keys
        self.collection = collection
        self.signatures.replace(with: verifiers)
        self.lastRefresh = self.clock.now
    }

    /// Creates a new key that starts signing after `publishAhead`, and schedules the current keys to leave
    /// the JWKS once the tokens they signed have expired. Returns the new key id.
    @discardableResult
    public func rotate(publishAhead: Duration) async throws -> String {
        let now = self.clock.now
        let kid = Identifiers.objectID()
        let privateKey = P256.Signing.PrivateKey()
        let combined = try self.sealer.seal(privateKey.rawRepresentation, boundTo: kid)
        let publicKey = try ES256PublicKey(backing: privateKey.publicKey)
        guard let (x, y) = publicKey.parameters else { throw KeyRingError.unsealable(kid: kid) }
        // Rounded down to the millisecond it is stored with: rounded to the nearest, a key meant to sign
        // "now" could read back as activating half a millisecond in the future.
        let activatesAt = Timestamp.date(
            milliseconds: Int64((now.addingTimeInterval(publishAhead.seconds).timeIntervalSince1970 * 1000).rounded(.down)))
        // The keys in use now verify tokens until the last token they sign (just before the new key
        // activates) has expired, plus the verification leeway.
        let retiredKeysExpireAt = activatesAt.addingTimeInterval(self.tokenLifetime.seconds + 120)
        try await self.database.transaction { connection in
            try await connection.execute(
                """
                UPDATE iam_signing_keys SET retired_at = \(Timestamp.milliseconds(activatesAt)),
                    expires_at = \(Timestamp.milliseconds(retiredKeysExpireAt))
                WHERE retired_at IS NULL AND activates_at <= \(Timestamp.milliseconds(activatesAt))
                """
            )
            try await connection.execute(
                """
                INSERT INTO iam_signing_keys (kid, algorithm, sealed_private_key, public_x, public_y, created_at, activates_at)
                VALUES (\(kid), \(Self.algorithm), \(Array(combined)), \(x), \(y), \(Timestamp.milliseconds(now)), \(Timestamp.milliseconds(activatesAt)))
                """
            )
        }
        self.logger.notice("signing key created", metadata: ["kid": .string(kid), "activates_at": .string(Timestamp.format(activatesAt))])
        try await self.refresh()
        return kid
    }

    /// When the most recently made key (active or upcoming) was made.
    public func newestKeyCreatedAt() -> Date? {
        self.keys.values.map(\.activatesAt).max()
    }

    /// The newest key that may sign now.
    func signingKey() -> SigningKey? {
        let now = self.clock.now
        return self.keys.values.filter { $0.activatesAt <= now }.max { $0.activatesAt < $1.activatesAt }
    }

    /// Signs `claims` with the current key, with `typ: at+jwt` and the key's `kid`.
    public func sign(_ claims: AccessTokenClaims) async throws -> String {
        guard let key = self.signingKey() else { throw KeyRingError.noSigningKey }
        var header = JWTHeader()
        header.typ = "at+jwt"
        header.alg = Self.algorithm
        return try await self.collection.sign(claims, kid: JWKIdentifier(string: key.kid), header: header)
    }

    /// Whether `kid` belongs to the ring, re-reading the database at most once a second for unknown ids.
    public func knows(kid: String) async -> Bool {
        if self.keys[kid] != nil { return true }
        guard self.clock.now.timeIntervalSince(self.lastRefresh) > 1 else { return false }
        do {
            try await self.refresh()
        } catch {
            self.logger.warning("key ring refresh failed", metadata: ["error": "\(error)"])
        }
        return self.keys[kid] != nil
    }

    /// The public keys that can still verify a live token, upcoming keys included (RFC 7517 JWKS).
    public func jwks() -> JSONValue {
        let keys = self.keys.values.sorted { $0.activatesAt < $1.activatesAt }.map { key -> JSONValue in
            [
                "kty": "EC", "crv": "P-256", "alg": .string(Self.algorithm), "use": "sig", "kid": .string(key.kid), "x": .string(key.x),
                "y": .string(key.y),
            ]
        }
        return ["keys": .array(keys)]
    }
}

/// The key ring cannot sign or verify; requests that need it fail closed with 503.
public enum KeyRingError: Error, Sendable, Equatable, CustomStringConvertible {
    case noSigningKey
    case unsealable(kid: String)

    public var description: String {
        switch self {
        case .noSigningKey: "no signing key is active"
        case .unsealable(let kid): "signing key \(kid) cannot be opened with this master key"
        }
    }
}

extension Duration {
    var seconds: TimeInterval {
        TimeInterval(self.components.seconds) + TimeInterval(self.components.attoseconds) / 1e18
    }
}
