public import Crypto
import Foundation

/// The key that encrypts signing keys at rest and from which the audit chain key is derived.
///
/// `PORTCULLIS_MASTER_KEY` (base64 of 32 random bytes) wins. Without it, the embedded SQLite default keeps
/// a generated key in `<data dir>/master.key` (mode 0600); PostgreSQL deployments must set the variable,
/// because every replica needs the same key.
public struct MasterKey: Sendable {
    public let key: SymmetricKey

    public init(key: SymmetricKey) {
        self.key = key
    }

    /// Parses the base64 form of `PORTCULLIS_MASTER_KEY`; nil unless it is exactly 32 bytes.
    public init?(base64: String) {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            return nil
        }
        self.key = SymmetricKey(data: data)
    }

    /// A key for one purpose (`"audit-chain"`, `"client-secrets"`), derived with HKDF-SHA256 so that no two
    /// purposes share key material.
    public func derived(for purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: self.key, info: Data("portcullis/\(purpose)".utf8), outputByteCount: 32)
    }

    /// Reads `<dataDirectory>/master.key`, creating it with a fresh random key (mode 0600) when absent.
    public static func loadOrCreate(dataDirectory: String) throws -> MasterKey {
        let path = URL(fileURLWithPath: dataDirectory).appendingPathComponent("master.key").path
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            guard let key = MasterKey(base64: text) else {
                throw ConfigurationError(setting: path, problem: "does not hold a base64 key of 32 bytes")
            }
            return key
        }
        try manager.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = SymmetricKey(size: .bits256)
        let encoded = key.withUnsafeBytes { Data($0).base64EncodedString() }
        guard manager.createFile(atPath: path, contents: Data((encoded + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError(setting: path, problem: "cannot be written")
        }
        return MasterKey(key: key)
    }
}
