public import GatewayKit
import PortcullisCore

/// The identity module's answer to ``AccountDirectory``: an account's tenant, type and whether it may act
/// (it and its tenant active), read from the account store.
struct StoreAccountDirectory: AccountDirectory {
    let accounts: AccountStore

    func account(_ id: String) async throws -> AccountSummary? {
        guard let account = try await self.accounts.find(id: id) else { return nil }
        return AccountSummary(id: account.id, tenant: account.tenant, type: account.type.rawValue, active: try await self.accounts.isEnabled(account))
    }
}
