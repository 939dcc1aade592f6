import Foundation
public import Logging
public import Messaging
public import PortcullisCore
public import Storage
import Synchronization

/// A bcrypt hash of a random string, made once, to verify against when the user does not exist.
actor DummyHash {
    let hasher: any PasswordHasher
    private var hash: String?

    init(hasher: any PasswordHasher) {
        self.hasher = hasher
    }

    func value() async throws -> String {
        if let hash { return hash }
        let made = try await self.hasher.hash(Identifiers.opaqueToken(prefix: ""))
        self.hash = made
        return made
    }
}
