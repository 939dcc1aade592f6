import Foundation
public import GatewayKit
import Hummingbird
import Policy
import PortcullisCore

/// `/api/v1/tenants` and `/api/v1/roles`.
public struct TenantAndRoleRoutes: Sendable {
    let tenants: TenantAdministration
    let roles: RoleAdministration
    let accounts: AccountAdministration

    public init(tenants: TenantAdministration, roles: RoleAdministration, accounts: AccountAdministration) {
        self.tenants = tenants
        self.roles = roles
        self.accounts = accounts
    }

    /// `POST /api/v1/tenants/{id}/users`: the account to add, by `id` (OIH clients also send `user`) or `username`.
    struct MemberBody: Decodable {
        let id: String?
        let user: String?
        let username: String?
        let roles: [String]?
    }

    struct TenantBody: Decodable {
        let name: String?
        let status: String?
    }

    struct RoleBody: Decodable {
        let name: String?
        let description: String?
        let permissions: [String]?
        let tenant: String?
    }

    public func register(on routes: RouteRegistry) {
        routes.read("/api/v1/tenants") { request, context in
            let page = try Pagination(request)
            let (items, total) = try await self.tenants.list(by: try context.requirePrincipal(), offset: page.offset, limit: page.size)
            return PageEnvelope(items, total: total, page: page)
        }
        routes.post("/api/v1/tenants") { request, context in
            let body = try await JSONBody.decode(TenantBody.self, from: request, context: context)
            let tenant = try await self.tenants.create(
                name: body.name, status: body.status, by: try context.requirePrincipal(), requestID: context.requestID.value)
            return EditedResponse(status: .created, response: DataEnvelope(tenant))
        }
        routes.read("/api/v1/tenants/{id}") { _, context in
            DataEnvelope(try await self.tenants.get(try AccountRoutes.id(context), by: try context.requirePrincipal(), decisions: context.decisions))
        }
        routes.patch("/api/v1/tenants/{id}") { request, context in
            let body = try await JSONBody.decode(TenantBody.self, from: request, context: context)
            return DataEnvelope(
                try await self.tenants.update(
                    try AccountRoutes.id(context), name: body.name, status: body.status, by: try context.requirePrincipal(),
                    decisions: context.decisions,
                    requestID: context.requestID.value
                )
            )
        }
        routes.put("/api/v1/tenants/{id}") { request, context in
            let body = try await JSONBody.decode(TenantBody.self, from: request, context: context)
            return DataEnvelope(
                try await self.tenants.update(
                    try AccountRoutes.id(context), name: body.name, status: body.status, replace: true, by: try context.requirePrincipal(),
                    decisions: context.decisions, requestID: context.requestID.value
                )
            )
        }
        routes.delete("/api/v1/tenants/{id}") { _, context in
            try await self.tenants.delete(
                try AccountRoutes.id(context), by: try context.requirePrincipal(), decisions: context.decisions, requestID: context.requestID.value)
            return HTTPResponse.Status.noContent
        }
        routes.read("/api/v1/tenants/{id}/users") { request, context in
            let page = try Pagination(request)
            let (items, total) = try await self.accounts.members(
                of: try AccountRoutes.id(context), by: try context.requirePrincipal(), offset: page.offset, limit: page.size,
                decisions: context.decisions)
            return PageEnvelope(items, total: total, page: page)
        }
        routes.post("/api/v1/tenants/{id}/users") { request, context in
            let body = try await JSONBody.decode(MemberBody.self, from: request, context: context)
            let account = try await self.accounts.addMember(
                accountID: body.id ?? body.user, username: body.username, roles: body.roles, to: try AccountRoutes.id(context),
                by: try context.requirePrincipal(), decisions: context.decisions, requestID: context.requestID.value)
            return DataEnvelope(account)
        }
        routes.delete("/api/v1/tenants/{id}/user/{userId}") { _, context in
            guard let userID = context.parameters.get("userId"), AccountRoutes.isID(userID) else { throw APIError.notFound("Not found.") }
            let account = try await self.accounts.removeMember(
                userID, from: try AccountRoutes.id(context), by: try context.requirePrincipal(), decisions: context.decisions,
                requestID: context.requestID.value)
            return DataEnvelope(account)
        }

        routes.read("/api/v1/roles") { request, context in
            let page = try Pagination(request)
            return PageEnvelope(paging: try await self.roles.list(by: try context.requirePrincipal()), page: page)
        }
        routes.post("/api/v1/roles") { request, context in
            let body = try await JSONBody.decode(RoleBody.self, from: request, context: context)
            let role = try await self.roles.create(
                name: body.name, description: body.description, permissions: body.permissions, tenant: body.tenant,
                by: try context.requirePrincipal(),
                decisions: context.decisions
            )
            return EditedResponse(status: .created, response: DataEnvelope(role))
        }
        routes.read("/api/v1/roles/{id}") { _, context in
            DataEnvelope(try await self.roles.get(try AccountRoutes.id(context), by: try context.requirePrincipal(), decisions: context.decisions))
        }
        routes.patch("/api/v1/roles/{id}") { request, context in
            let body = try await JSONBody.decode(RoleBody.self, from: request, context: context)
            return DataEnvelope(
                try await self.roles.update(
                    try AccountRoutes.id(context), name: body.name, description: body.description, permissions: body.permissions,
                    by: try context.requirePrincipal(), decisions: context.decisions
                )
            )
        }
        routes.delete("/api/v1/roles/{id}") { _, context in
            try await self.roles.delete(try AccountRoutes.id(context), by: try context.requirePrincipal(), decisions: context.decisions)
            return HTTPResponse.Status.noContent
        }
    }
}
