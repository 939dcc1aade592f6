import Foundation
import Policy
import Testing

@Suite("Policy files")
struct PolicySetTests {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("policies").path

    static let minimalRoutes = """
        rules:
          - {id: health, methods: [GET], path: /health/live, auth: public}
          - {id: flow, methods: [GET], path: "/flows/{id}", require: {allOf: [flows.read]}}
        """

    static func directory(permissions: String, roles: String, routes: String = minimalRoutes) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try permissions.write(to: directory.appendingPathComponent("permissions.yaml"), atomically: true, encoding: .utf8)
        try roles.write(to: directory.appendingPathComponent("roles.yaml"), atomically: true, encoding: .utf8)
        try routes.write(to: directory.appendingPathComponent("routes.yaml"), atomically: true, encoding: .utf8)
        return directory.path
    }

    static let minimalPermissions = """
        permissions:
          - {name: all, description: a, restricted: true}
          - {name: tenant.all, description: t, restricted: true}
          - {name: flows.read, description: r, tenantGrantable: true}
          - {name: logs.push, description: p}
        """
    static let minimalRoles = """
        roles:
          - {name: ADMIN, description: a, permissions: [all]}
          - {name: TENANT_ADMIN, description: t, permissions: [tenant.all]}
          - {name: USER, description: u, permissions: [flows.read]}
          - {name: SERVICE_ACCOUNT, description: s, permissions: [logs.push]}
        """

    @Test("the shipped policy files load and contain the contract's permissions and roles")
    func shipped() throws {
        let policies = try PolicySet.load(directory: Self.shipped)
        for name in [
            "all", "tenant.all", "flows.read", "flows.write", "flows.control", "flows.bulk", "logs.read", "logs.push", "webhooks.execute",
            "queues.consume", "schedules.read", "metrics.read", "iam.token.read", "iam.token.exchange", "iam.token.introspect",
            "iam.account.create", "tenant.account.create",
        ] {
            #expect(policies.catalog.contains(name), "missing \(name)")
        }
        #expect(policies.reservedRoleNames == ["ADMIN", "TENANT_ADMIN", "USER", "SERVICE_ACCOUNT"])
    }

    @Test("all grants everything; tenant.all grants tenant-grantable permissions only; others grant themselves")
    func grants() throws {
        let catalog = try PolicySet.load(directory: Self.shipped).catalog
        #expect(catalog.grants(held: ["all"], "iam.tenant.delete"))
        #expect(catalog.grants(held: ["tenant.all"], "flows.write"))
        #expect(catalog.grants(held: ["tenant.all"], "tenant.account.create"))
        #expect(!catalog.grants(held: ["tenant.all"], "iam.tenant.delete"))
        #expect(catalog.grants(held: ["tenant.all"], "logs.push"))
        #expect(!catalog.grants(held: ["tenant.all"], "iam.token.introspect"))
        #expect(catalog.grants(held: ["flows.read"], "flows.read"))
        #expect(!catalog.grants(held: ["flows.read"], "flows.write"))
        #expect(!catalog.grants(held: [], "flows.read"))
    }

    @Test(
        "a bad file stops loading with the file and the entry at fault",
        arguments: [
            (
                minimalPermissions, minimalRoles.replacingOccurrences(of: "[flows.read]", with: "[flows.reed]"), "roles.yaml",
                "role 'USER': unknown permission 'flows.reed'"
            ),
            (
                minimalPermissions + "\n  - {name: flows.read, description: again}", minimalRoles, "permissions.yaml",
                "permission 'flows.read': listed twice"
            ),
            (
                minimalPermissions.replacingOccurrences(of: "name: logs.push", with: "name: Logs.Push"), minimalRoles, "permissions.yaml",
                "permission 'Logs.Push'"
            ),
            (
                minimalPermissions, minimalRoles.replacingOccurrences(of: "name: USER", with: "name: PERSON"), "roles.yaml",
                "the built-in role 'USER' is missing"
            ),
            (
                minimalPermissions.replacingOccurrences(of: "name: all,", with: "name: everything,"), minimalRoles, "permissions.yaml",
                "must define 'all'"
            ),
            ("permissions: [{name: x}]", minimalRoles, "permissions.yaml", "missing 'description'"),
            ("permissions: {{{", minimalRoles, "permissions.yaml", "is not valid YAML"),
        ]
    )
    func invalid(permissions: String, roles: String, file: String, expected: String) throws {
        let directory = try Self.directory(permissions: permissions, roles: roles)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect {
            try PolicySet.load(directory: directory)
        } throws: { error in
            let description = "\(error)"
            return description.hasPrefix("\(directory)/\(file): ") && description.contains(expected)
        }
    }

    @Test("a missing policy directory is reported, not crashed on")
    func missingDirectory() {
        #expect(throws: PolicyError.self) { try PolicySet.load(directory: "/nonexistent/policies") }
    }
}

@Suite("Policy file text")
struct PolicyFileTextTests {
    @Test("anchors and aliases are refused with their line; quoted and commented ampersands and asterisks are not")
    func anchors() throws {
        let shipped = PolicySetTests.shipped
        let roles = try String(contentsOfFile: "\(shipped)/roles.yaml", encoding: .utf8)
        let permissions = try String(contentsOfFile: "\(shipped)/permissions.yaml", encoding: .utf8)
        let fine = try PolicySetTests.directory(
            permissions: permissions, roles: roles + "\n# a comment with &anchor and *alias\n",
            routes: PolicySetTests.minimalRoutes + "\n  - {id: quoted, methods: [GET], path: \"/x/&y\", auth: public}   # *not an alias\n")
        defer { try? FileManager.default.removeItem(atPath: fine) }
        #expect(throws: Never.self) { try PolicySet.load(directory: fine) }
        let expanding = try PolicySetTests.directory(
            permissions: permissions, roles: "many: &many [a, b]\nroles:\n  - *many\n")
        defer { try? FileManager.default.removeItem(atPath: expanding) }
        do {
            _ = try PolicySet.load(directory: expanding)
            Issue.record("a file with an anchor was loaded")
        } catch {
            #expect(error.reason.contains("anchor or alias"))
            #expect(error.line == 1)
        }
    }
}
