/// A grant or ceiling decision and, when it is a deny, why: typed, so that callers answer it without
/// reading the reason text.
public struct GrantVerdict: Sendable, Hashable {
    public let decision: Decision
    /// Nil exactly when the decision is an allow.
    public let refusal: GrantRefusal?

    public init(decision: Decision, refusal: GrantRefusal? = nil) {
        self.decision = decision
        self.refusal = refusal
    }
}

/// Why a grant, a ceiling or a narrowing is refused, naming the permission at fault.
public enum GrantRefusal: Sendable, Hashable {
    /// The permission is not in the catalog (a malformed request: 400).
    case unknownPermission(String)
    /// Only platform admins may grant it.
    case restricted(String)
    /// The caller does not hold it (its token's scope included).
    case notHeld(String)
    /// A tenant admin may not grant it: not `tenantGrantable`.
    case notTenantGrantable(String)
    /// The account acted on holds it and the caller does not.
    case exceedsCaller(String)
    /// A token's custom permissions would exceed its account's.
    case exceedsAccount(String)

    public var permission: String {
        switch self {
        case .unknownPermission(let permission), .restricted(let permission), .notHeld(let permission), .notTenantGrantable(let permission),
            .exceedsCaller(let permission), .exceedsAccount(let permission):
            permission
        }
    }

    /// The reason recorded and answered.
    public var reason: String {
        switch self {
        case .unknownPermission: "UNKNOWN_PERMISSION"
        case .restricted: "RESTRICTED_PERMISSION"
        case .notHeld: "NOT_HELD"
        case .notTenantGrantable: "NOT_TENANT_GRANTABLE"
        case .exceedsCaller: "EXCEEDS_CALLER"
        case .exceedsAccount: "EXCEEDS_ACCOUNT"
        }
    }

    /// A sentence for the client.
    public var message: String {
        switch self {
        case .unknownPermission(let permission): "Unknown permission \(permission)."
        case .restricted(let permission): "Only platform admins may grant \(permission)."
        case .notHeld(let permission): "You cannot grant \(permission), which you do not hold."
        case .notTenantGrantable(let permission): "Tenant admins cannot grant \(permission): it is not tenant-grantable."
        case .exceedsCaller(let permission): "The account holds \(permission), which you do not hold."
        case .exceedsAccount(let permission): "customPermissions cannot exceed the account's own permissions (\(permission))."
        }
    }
}
