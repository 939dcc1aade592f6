public import Storage

/// The credentials a running flow's components call the gateway with: one service account per flow,
/// holding `queues.consume` and nothing else. The identity module provides it (``ModuleCapabilities``);
/// the orchestrator mints and revokes through it, the flow repository rotates the secret for owners,
/// and neither imports the identity module.
///
/// Every operation runs on the caller's transaction (all modules share one database), so that a flow's
/// token changes together with the caller's own rows and events, or not at all. An account the
/// identity module links to a flow this way is managed by the flow: IAM's administration refuses to
/// change or delete it.
public protocol FlowCredentials: Sendable {
    /// The flow's service account, created when it has none. Idempotent: a second call for the same flow
    /// answers the same account (a redelivered `flow.starting` mints nothing new).
    ///
    /// - Throws: ``FlowCredentialsRefused`` when the flow's tenant is gone or disabled.
    func provision(flowID: String, tenant: String?, on connection: any DatabaseConnection) async throws -> FlowCredential

    /// A new secret for the flow's account, shown once; the old one and the tokens obtained with it stop
    /// working. Nil when the flow has no account (it is not running).
    func rotateSecret(flowID: String, on connection: any DatabaseConnection) async throws -> FlowSecret?

    /// Removes the flow's account, its secret and every token it holds; returns the account that went.
    /// Idempotent: a flow without an account is not an error (nil).
    @discardableResult
    func revoke(flowID: String, on connection: any DatabaseConnection) async throws -> FlowCredential?
}

/// A flow's service account, without its secret.
public struct FlowCredential: Sendable, Hashable, Codable {
    public let accountID: String
    public let clientID: String

    public init(accountID: String, clientID: String) {
        self.accountID = accountID
        self.clientID = clientID
    }

    enum CodingKeys: String, CodingKey {
        case accountID = "accountId"
        case clientID = "clientId"
    }
}

/// A flow's client credentials, as handed out once.
public struct FlowSecret: Sendable, Encodable {
    public let clientID: String
    public let clientSecret: String

    public init(clientID: String, clientSecret: String) {
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    enum CodingKeys: String, CodingKey {
        case clientID = "clientId"
        case clientSecret
    }
}

/// The flow's account cannot be provisioned, for a reason retrying will not fix (its tenant is gone or
/// disabled): the orchestrator reports the flow as failed with ``reason``.
public struct FlowCredentialsRefused: Error, Sendable, CustomStringConvertible {
    public let reason: String

    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { self.reason }
}
