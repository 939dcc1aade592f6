import Foundation
public import GatewayKit
import Hummingbird
public import Policy
public import PortcullisCore

/// `/api/v1/users`: accounts, confined to the caller's tenant unless it holds the platform permissions.
public struct AccountRoutes: Sendable {
    let administration: AccountAdministration
    let login: LoginService
    let sessions: Sessions
    let policies: PolicyStore

    public init(administration: AccountAdministration, login: LoginService, sessions: Sessions, policies: PolicyStore) {
        self.administration = administration
        self.login = login
        self.sessions = sessions
        self.policies = policies
    }

    /// The writable account fields; each optional, each with a fixed JSON type.
    struct Body: Decodable {
        let username: String?
        let password: String?
        let firstname: String?
        let lastname: String?
        let tenant: String?
        let status: String?
        let type: String?
        let roles: [String]?
        let permissions: [String]?

        var changes: AccountAdministration.Changes {
            .init(
                username: self.username, password: self.password, firstname: self.firstname, lastname: self.lastname, tenant: self.tenant,
                status: self.status, type: self.type, roles: self.roles, permissions: self.permissions
            )
        }
    }

    struct OwnBody: Decodable {
        let firstname: String?
        let lastname: String?
        let password: String?
        let currentPassword: String?
    }

    public func register(on routes: RouteRegistry) {
        routes.read("/api/v1/users") { request, context in
            let page = try Pagination(request)
            let (items, total) = try await self.administration.list(by: try context.requirePrincipal(), offset: page.offset, limit: page.size)
            return PageEnvelope(items, total: total, page: page)
        }
        routes.post("/api/v1/users") { request, context in
            let body = try await JSONBody.decode(Body.self, from: request, context: context)
            let account = try await self.administration.create(
                body.changes, by: try context.requirePrincipal(), decisions: context.decisions, requestID: context.requestID.value)
            return EditedResponse(status: .created, response: DataEnvelope(account))
        }
        routes.patch("/api/v1/users/me") { request, context in
            let body = try await JSONBody.decode(OwnBody.self, from: request, context: context)
            return DataEnvelope(try await self.updateOwn(body, context: context))
        }
        routes.read("/api/v1/users/{id}") { _, context in
            DataEnvelope(try await self.administration.get(try Self.id(context), by: try context.requirePrincipal(), decisions: context.decisions))
        }
        routes.patch("/api/v1/users/{id}") { request, context in
            let body = try await JSONBody.decode(Body.self, from: request, context: context)
            let id = try Self.id(context)
            return DataEnvelope(
                try await self.administration.update(
                    id, body.changes, by: try context.requirePrincipal(), decisions: context.decisions, requestID: context.requestID.value))
        }
        // OIH's full update: profile fields, roles and permissions take the body's values, absent ones cleared.
        routes.put("/api/v1/users/{id}") { request, context in
            let body = try await JSONBody.decode(Body.self, from: request, context: context)
            let id = try Self.id(context)
            return DataEnvelope(
                try await self.administration.update(
                    id, body.changes, replace: true, by: try context.requirePrincipal(), decisions: context.decisions,
                    requestID: context.requestID.value))
        }
        routes.delete("/api/v1/users/{id}") { _, context in
            try await self.administration.delete(
                try Self.id(context), by: try context.requirePrincipal(), decisions: context.decisions, requestID: context.requestID.value)
            return HTTPResponse.Status.noContent
        }
        routes.read("/api/v1/permissions") { request, _ in
            PageEnvelope(paging: self.policies.current.catalog.permissions, page: try Pagination(request))
        }
    }

    /// `PATCH /api/v1/users/me`: names freely; the password only with the current one, and then every
    /// other token of the account is revoked. The current-password check counts towards the lockout like a
    /// login, and is a recorded decision.
    private func updateOwn(_ body: OwnBody, context: GatewayRequestContext) async throws -> Account {
        let principal = try context.requirePrincipal()
        // A flow's token account is its flow's (nobody renames it, the platform admin included).
        try await self.administration.refuseFlowAccount(principal.accountID)
        if let password = body.password {
            try await self.checkCurrentPassword(body.currentPassword, of: principal, context: context)
            if let problem = self.administration.passwordPolicy.problem(with: password) {
                throw APIError.badRequest("WEAK_PASSWORD", problem)
            }
            try await self.sessions.changePassword(accountID: principal.accountID, to: password, keeping: principal.tokenID)
        }
        guard let account = try await self.sessions.updateProfile(accountID: principal.accountID, firstname: body.firstname, lastname: body.lastname)
        else { throw APIError.notFound("Account not found.") }
        return account
    }

    /// The current-password check, counted like a login and recorded whatever its outcome: a wrong or
    /// missing password, a locked account and a full hashing pool are all recorded denies.
    private func checkCurrentPassword(_ current: String?, of principal: Principal, context: GatewayRequestContext) async throws {
        var refusal: APIError? = APIError.forbidden("INVALID_CURRENT_PASSWORD", "Changing the password needs the correct currentPassword.")
        var reason = "INVALID_CURRENT_PASSWORD"
        if let current {
            do {
                let proven = try await self.login.authenticate(username: principal.username, password: current, clientIP: context.clientIP)
                if proven.account.id == principal.accountID { refusal = nil }
            } catch LoginService.Failure.invalidCredentials {
                // The refusal above stands.
            } catch let failure as LoginService.Failure {
                refusal = IdentityRoutes.apiError(failure)
                reason = refusal?.reason ?? reason
            }
        }
        let policies = self.policies.current
        let decision = Decision(
            outcome: refusal == nil ? .allow : .deny, reason: refusal == nil ? "CURRENT_PASSWORD" : reason, policyRevision: policies.revision)
        let resource = ResourceRef(type: "account", id: principal.accountID, tenant: principal.tenant)
        try await policies.authorizer.check(decision, about: principal, on: resource, recordingTo: context.decisions)
        if let refusal { throw refusal }
    }

    /// Ids are opaque; anything that cannot be one is simply not found.
    static func id(_ context: GatewayRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), Self.isID(id) else { throw APIError.notFound("Not found.") }
        return id
    }

    static func isID(_ id: String) -> Bool {
        (1...64).contains(id.count) && id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" })
    }
}
