public import PortcullisCore

/// Turns a bearer token into its principal: what the gateway's access step asks of the identity module.
public protocol BearerAuthenticator: Sendable {
    /// The principal of a valid token. Throws `.invalidToken` or `.accountDisabled` (answered 401) or
    /// `.unavailable` when the key ring or database cannot answer (answered 503: never a 401 for an outage).
    func verify(_ token: String) async throws(AuthenticationError) -> Principal
}
