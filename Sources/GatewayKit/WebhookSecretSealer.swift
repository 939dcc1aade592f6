import Foundation
public import PortcullisCore

/// Seals a flow's webhook HMAC secret with the project's ``SecretSealer``, bound to the flow's id: the
/// flow repository seals it for storage and for `flow.starting`, the webhooks module opens it to check a
/// signature. Shared through the module seam so that neither imports the other.
public struct WebhookSecretSealer: Sendable {
    public static let keyPurpose = "flow-webhook-secrets"
    let sealer: SecretSealer

    public init(masterKey: MasterKey) {
        self.sealer = SecretSealer(masterKey: masterKey, purpose: Self.keyPurpose)
    }

    public func seal(_ secret: String, flowID: String) throws -> [UInt8] {
        try self.sealer.seal(Data(secret.utf8), boundTo: flowID)
    }

    /// The secret, or nil when the sealed bytes do not open under this key and flow id.
    public func open(_ sealed: [UInt8], flowID: String) -> String? {
        self.sealer.open(sealed, boundTo: flowID).flatMap { String(data: $0, encoding: .utf8) }
    }
}
