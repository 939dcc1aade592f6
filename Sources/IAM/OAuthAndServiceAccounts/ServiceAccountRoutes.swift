public import GatewayKit
import Hummingbird
import Policy
import PortcullisCore

/// `/api/v1/service-accounts`: accounts for services, with a client id and a secret shown once.
public struct ServiceAccountRoutes: Sendable {
    let serviceAccounts: ServiceAccounts

    public init(serviceAccounts: ServiceAccounts) {
        self.serviceAccounts = serviceAccounts
    }

    struct Body: Decodable {
        let name: String?
        let tenant: String?
        let roles: [String]?
        let permissions: [String]?
    }

    public func register(on routes: RouteRegistry) {
        routes.read("/api/v1/service-accounts") { request, context in
            let page = try Pagination(request)
            let (items, total) = try await self.serviceAccounts.list(by: try context.requirePrincipal(), offset: page.offset, limit: page.size)
            return PageEnvelope(items, total: total, page: page)
        }
        routes.post("/api/v1/service-accounts") { request, context in
            let body = try await JSONBody.decode(Body.self, from: request, context: context)
            let credentials = try await self.serviceAccounts.create(
                name: body.name, tenant: body.tenant, roles: body.roles, permissions: body.permissions, by: try context.requirePrincipal(),
                decisions: context.decisions, requestID: context.requestID.value
            )
            return EditedResponse(status: .created, response: DataEnvelope(credentials))
        }
        routes.read("/api/v1/service-accounts/{id}") { _, context in
            DataEnvelope(
                try await self.serviceAccounts.get(try AccountRoutes.id(context), by: try context.requirePrincipal(), decisions: context.decisions))
        }
        routes.delete("/api/v1/service-accounts/{id}") { _, context in
            try await self.serviceAccounts.delete(
                try AccountRoutes.id(context), by: try context.requirePrincipal(), decisions: context.decisions, requestID: context.requestID.value)
            return HTTPResponse.Status.noContent
        }
        routes.post("/api/v1/service-accounts/{id}/secret") { _, context in
            DataEnvelope(
                try await self.serviceAccounts.rotate(try AccountRoutes.id(context), by: try context.requirePrincipal(), decisions: context.decisions)
            )
        }
    }
}
