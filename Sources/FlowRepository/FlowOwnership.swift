public import PortcullisCore

/// Who owns a flow and who sees it (API.md §3): the creator and the creator's tenant become owners; a
/// caller names no owner outside its own tenant; platform admins see every flow, others the flows whose
/// owners contain their account or their tenant.
public enum FlowOwnership {
    public static let userType = "user"
    public static let tenantType = "tenant"
    /// The running flow's token account (``FlowControl``): added by `flow.started`, removed when the flow
    /// stops; never named by a client.
    public static let serviceType = "service"

    /// An owner the caller may not name (400).
    public struct ForeignOwner: Error, Sendable, Hashable {
        public let owner: FlowOwner
        public var message: String { "Owner \(self.owner.type) \(self.owner.id) is outside your tenant." }
    }

    /// The owners of a new flow: the requested ones, plus the creator and the creator's tenant.
    ///
    /// - Parameters:
    ///   - isPlatformAdmin: platform admins may name any owner.
    ///   - sameTenant: whether an account id belongs to the caller's tenant (asked only for user owners that
    ///     are not the caller).
    public static func owners(
        requested: [FlowOwner], by caller: Principal, isPlatformAdmin: Bool, sameTenant: (String) async throws -> Bool
    ) async throws -> [FlowOwner] {
        var owners: [FlowOwner] = [FlowOwner(id: caller.accountID, type: Self.userType)]
        if let tenant = caller.tenant { owners.append(FlowOwner(id: tenant, type: Self.tenantType)) }
        for owner in requested where !owners.contains(owner) {
            if !isPlatformAdmin {
                let allowed: Bool
                switch owner.type {
                case Self.tenantType: allowed = owner.id == caller.tenant
                case Self.userType:
                    if caller.tenant == nil {
                        allowed = false
                    } else {
                        allowed = try await sameTenant(owner.id)
                    }
                default: allowed = false
                }
                guard allowed else { throw ForeignOwner(owner: owner) }
            }
            owners.append(owner)
        }
        return owners
    }

    /// The owner ids whose flows `caller` sees; nil for all (platform admins).
    public static func visibleOwnerIDs(of caller: Principal, isPlatformAdmin: Bool) -> [String]? {
        guard !isPlatformAdmin else { return nil }
        return [caller.accountID] + (caller.tenant.map { [$0] } ?? [])
    }
}
