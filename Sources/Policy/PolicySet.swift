import Foundation
public import PortcullisCore
import Yams

/// The validated contents of the policy directory.
public struct PolicySet: Sendable {
    public let catalog: PermissionCatalog
    public let builtInRoles: [RoleDefinition]
    public let routes: RoutePolicy
    /// A hash of the policy files, reported with every decision and in `/health/ready`.
    public let revision: String

    public init(catalog: PermissionCatalog, builtInRoles: [RoleDefinition], routes: RoutePolicy, revision: String) {
        self.catalog = catalog
        self.builtInRoles = builtInRoles
        self.routes = routes
        self.revision = revision
    }

    /// The authorizer over this set's catalog, stamping its revision on every decision.
    public var authorizer: Authorizer { Authorizer(catalog: self.catalog, revision: self.revision) }

    /// The grant rule over this set's catalog.
    public var grants: GrantRule { GrantRule(authorizer: self.authorizer) }

    /// The route-level decision on `method` and the canonical `path`: the first matching rule decides, and a
    /// request no rule matches is denied with `NO_ROUTE`. HEAD is decided as GET.
    public func decide(_ principal: Principal?, method: String, path: String) -> Decision {
        self.authorizer.decide(principal, rule: self.routes.match(method: method, path: path))
    }

    /// The built-in role names, which no tenant may use for a role of its own.
    public var reservedRoleNames: Set<String> { Set(self.builtInRoles.map(\.name)) }

    /// Reads and validates `permissions.yaml`, `roles.yaml` and `routes.yaml` in `directory`.
    ///
    /// - Throws: ``PolicyError`` naming the file and the entry at fault.
    public static func load(directory: String) throws(PolicyError) -> PolicySet {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let files = ["\(base)/permissions.yaml", "\(base)/roles.yaml", "\(base)/routes.yaml"]
        let catalog = try loadCatalog(file: files[0])
        let roles = try loadRoles(file: files[1], catalog: catalog)
        let routes = try RoutePolicy.load(file: files[2], catalog: catalog)
        return PolicySet(catalog: catalog, builtInRoles: roles, routes: routes, revision: RoutePolicy.revision(of: files))
    }

    private struct CatalogFile: Decodable {
        struct Entry: Decodable {
            let name: String
            let description: String
            let restricted: Bool?
            let tenantGrantable: Bool?
        }
        let permissions: [Entry]
    }

    private struct RolesFile: Decodable {
        let roles: [RoleDefinition]
    }

    static func loadCatalog(file: String) throws(PolicyError) -> PermissionCatalog {
        let parsed: CatalogFile = try decode(CatalogFile.self, file: file)
        var seen = Set<String>()
        var permissions: [Permission] = []
        for entry in parsed.permissions {
            let label = "permission '\(entry.name)'"
            guard isValidName(entry.name) else {
                throw PolicyError(file: file, entry: label, reason: "names are dot-separated words of a-z, 0-9, '_' and '-'")
            }
            guard seen.insert(entry.name).inserted else {
                throw PolicyError(file: file, entry: label, reason: "listed twice")
            }
            permissions.append(
                Permission(
                    name: entry.name, description: entry.description, restricted: entry.restricted ?? false,
                    tenantGrantable: entry.tenantGrantable ?? false
                )
            )
        }
        for required in [PermissionCatalog.all, PermissionCatalog.tenantAll] where !seen.contains(required) {
            throw PolicyError(file: file, reason: "the catalog must define '\(required)'")
        }
        return PermissionCatalog(permissions)
    }

    static func loadRoles(file: String, catalog: PermissionCatalog) throws(PolicyError) -> [RoleDefinition] {
        let parsed: RolesFile = try decode(RolesFile.self, file: file)
        var seen = Set<String>()
        for role in parsed.roles {
            let label = "role '\(role.name)'"
            guard !role.name.isEmpty else {
                throw PolicyError(file: file, entry: label, reason: "a role needs a name")
            }
            guard seen.insert(role.name).inserted else {
                throw PolicyError(file: file, entry: label, reason: "listed twice")
            }
            for permission in role.permissions where !catalog.contains(permission) {
                throw PolicyError(file: file, entry: label, reason: "unknown permission '\(permission)'")
            }
        }
        for required in ["ADMIN", "TENANT_ADMIN", "USER", "SERVICE_ACCOUNT"] where !seen.contains(required) {
            throw PolicyError(file: file, reason: "the built-in role '\(required)' is missing")
        }
        return parsed.roles
    }

    private static func decode<Value: Decodable>(_ type: Value.Type, file: String) throws(PolicyError) -> Value {
        let text = try PolicyFileText.read(file)
        do {
            return try YAMLDecoder().decode(Value.self, from: text)
        } catch let error as DecodingError {
            throw PolicyError(file: file, reason: describe(error))
        } catch {
            throw PolicyError(file: file, reason: "is not valid YAML: \(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing '\(key.stringValue)' at \(path(context.codingPath).isEmpty ? "top level" : path(context.codingPath))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "wrong type at '\(path(context.codingPath))'"
        case .dataCorrupted(let context) where context.codingPath.isEmpty: return "is not valid YAML"
        case .dataCorrupted(let context): return "invalid content at '\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default: return "cannot be decoded"
        }
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty
            && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { word in
                !word.isEmpty && word.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
            }
    }
}
