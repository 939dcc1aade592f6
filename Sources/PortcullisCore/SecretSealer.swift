public import Crypto
public import Foundation

/// Seals secrets for storage: AES-GCM under a key derived from the master key for one purpose, bound to
/// the id of what the secret belongs to, so that a copy of the database alone reveals nothing and a sealed
/// value moved to another row does not open. The one sealing mechanism behind signing keys and webhook
/// secrets.
///
/// ```swift
/// let sealer = SecretSealer(masterKey: key, purpose: "signing-keys")
/// let sealed = try sealer.seal(raw, boundTo: kid)
/// let raw = sealer.open(sealed, boundTo: kid)   // nil under another key or id
/// ```
public struct SecretSealer: Sendable {
    let key: SymmetricKey

    public init(masterKey: MasterKey, purpose: String) {
        self.key = masterKey.derived(for: purpose)
    }

    public func seal(_ secret: some DataProtocol, boundTo id: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(secret, using: self.key, authenticating: Data(id.utf8))
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return Array(combined)
    }

    /// The secret, or nil when `sealed` does not open under this key and id (tampered, another master
    /// key, another row).
    public func open(_ sealed: [UInt8], boundTo id: String) -> Data? {
        guard let box = try? AES.GCM.SealedBox(combined: sealed) else { return nil }
        return try? AES.GCM.open(box, using: self.key, authenticating: Data(id.utf8))
    }
}
