/// What a rule or check asks of its caller, as a refusal shows it: `{"anyOf":[...]}` or `{"allOf":[...]}`.
public struct PermissionRequirement: Codable, Sendable, Hashable {
    public var anyOf: [String]?
    public var allOf: [String]?

    public static func anyOf(_ permissions: [String]) -> PermissionRequirement {
        PermissionRequirement(anyOf: permissions, allOf: nil)
    }

    public static func allOf(_ permissions: [String]) -> PermissionRequirement {
        PermissionRequirement(anyOf: nil, allOf: permissions)
    }

    /// The permissions named, in the rule's order.
    public var permissions: [String] { self.allOf ?? self.anyOf ?? [] }

    /// The sentence of a 403: what is needed and what the caller's token lacks, e.g. "This request needs
    /// one of iam.tenant.read, tenant.profile.read; your token has neither."
    public func refusal(missing: [String]) -> String {
        let permissions = self.permissions
        if permissions.count == 1 {
            return "This request needs the permission \(permissions[0]); your token does not have it."
        }
        if self.allOf != nil {
            return "This request needs all of \(Self.list(permissions)); your token lacks \(Self.list(missing))."
        }
        return "This request needs one of \(Self.list(permissions)); your token has \(permissions.count == 2 ? "neither" : "none of them")."
    }

    /// The sentence of a 401 for a request that came without a token.
    public static func tokenNeeded(_ requirement: PermissionRequirement?) -> String {
        guard let requirement, !requirement.permissions.isEmpty else {
            return "This request needs a token; none was sent."
        }
        let permissions = requirement.permissions
        let holding =
            if permissions.count == 1 {
                "the permission \(permissions[0])"
            } else if requirement.allOf != nil {
                "all of \(Self.list(permissions))"
            } else {
                "one of \(Self.list(permissions))"
            }
        return "This request needs a token with \(holding); none was sent."
    }

    static func list(_ permissions: [String]) -> String {
        permissions.joined(separator: ", ")
    }
}

extension APIError {
    /// 403 `MISSING_PERMISSION` for a check that needs `permission` alone, explained like a route refusal.
    public static func missingPermission(_ permission: String) -> APIError {
        let requirement = PermissionRequirement.allOf([permission])
        var error = APIError.forbidden("MISSING_PERMISSION", requirement.refusal(missing: [permission]))
        error.entries[0].required = requirement
        error.entries[0].missing = [permission]
        return error
    }
}
