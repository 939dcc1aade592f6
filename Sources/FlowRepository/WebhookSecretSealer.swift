public import Crypto
import Foundation
public import PortcullisCore

/// Seals a flow's webhook HMAC secret for storage (AES-GCM under a key derived from the master key, bound
/// to the flow's id), so that a copy of the database alone does not reveal it, and a sealed secret moved to
/// another flow does not open.
public struct WebhookSecretSealer: Sendable {
    public static let keyPurpose = "flow-webhook-secrets"
    let key: SymmetricKey

    public init(masterKey: MasterKey) {
        self.key = masterKey.derived(for: Self.keyPurpose)
    }

    public func seal(_ secret: String, flowID: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Data(secret.utf8), using: self.key, authenticating: Data(flowID.utf8))
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return Array(combined)
    }

    /// The secret, or nil when the sealed bytes do not open under this key and flow id.
    public func open(_ sealed: [UInt8], flowID: String) -> String? {
        guard let box = try? AES.GCM.SealedBox(combined: sealed),
            let plain = try? AES.GCM.open(box, using: self.key, authenticating: Data(flowID.utf8))
        else { return nil }
        return String(data: plain, encoding: .utf8)
    }
}
