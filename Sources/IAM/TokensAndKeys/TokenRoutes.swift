import Foundation
public import GatewayKit
import Hummingbird
import Policy
import PortcullisCore

/// `/api/v1/tokens`: issue, list, read, revoke, introspect, refresh.
public struct TokenRoutes: Sendable {
    let tokens: TokenAdministration
    let accessTokenTTL: Duration

    public init(tokens: TokenAdministration, accessTokenTTL: Duration) {
        self.tokens = tokens
        self.accessTokenTTL = accessTokenTTL
    }

    struct CreateBody: Decodable {
        let accountID: String
        /// `"15m"`, `"2h"`, `"7d"`, or `-1` for a persistent token.
        let expiresIn: JSONValue?
        let customPermissions: [String]?
        let description: String?

        enum CodingKeys: String, CodingKey {
            case accountID = "accountId"
            case expiresIn, customPermissions, description
        }
    }

    struct IntrospectBody: Decodable {
        let token: String
    }

    /// `{token, id, expiresAt}`; `expiresAt` is always present, `null` for a persistent token.
    struct Created: Encodable, Sendable {
        let token: String
        let id: String
        let expiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case token, id, expiresAt
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.token, forKey: .token)
            try container.encode(self.id, forKey: .id)
            try container.encode(self.expiresAt, forKey: .expiresAt)
        }
    }

    struct Refreshed: ResponseEncodable {
        let token: String
        let id: String
        let expiresIn: Int?
    }

    public func register(on routes: RouteRegistry) {
        routes.post("/api/v1/tokens") { request, context in
            let body = try await JSONBody.decode(CreateBody.self, from: request, context: context)
            let issued = try await self.tokens.create(
                accountID: body.accountID, lifetime: try Self.lifetime(body.expiresIn), customPermissions: body.customPermissions,
                description: body.description, by: try context.requirePrincipal(), decisions: context.decisions,
                requestID: context.requestID.value
            )
            return EditedResponse(
                status: .created, response: DataEnvelope(Created(token: issued.token, id: issued.record.id, expiresAt: issued.record.expiresAt))
            )
        }
        routes.read("/api/v1/tokens") { request, _ in
            let page = try Pagination(request)
            let accountID = QueryParameters(request)["accountId"]
            let (items, total) = try await self.tokens.list(accountID: accountID, offset: page.offset, limit: page.size)
            return PageEnvelope(items, total: total, page: page)
        }
        routes.read("/api/v1/tokens/{id}") { _, context in
            DataEnvelope(try await self.tokens.get(try AccountRoutes.id(context)))
        }
        routes.delete("/api/v1/tokens/{id}") { _, context in
            try await self.tokens.revoke(
                try AccountRoutes.id(context), by: try context.requirePrincipal(), decisions: context.decisions, requestID: context.requestID.value)
            return HTTPResponse.Status.noContent
        }
        routes.post("/api/v1/tokens/introspect") { request, context in
            let body = try await JSONBody.decode(IntrospectBody.self, from: request, context: context)
            return try await self.tokens.introspect(body.token)
        }
        routes.post("/api/v1/tokens/refresh") { _, context in
            let issued = try await self.tokens.refresh(try context.requirePrincipal(), requestID: context.requestID.value)
            let expiresIn = issued.record.expiresAt.map { Int($0.timeIntervalSince(issued.record.createdAt).rounded()) }
            return Refreshed(token: issued.token, id: issued.record.id, expiresIn: expiresIn)
        }
    }

    /// `"15m"`-style durations or `-1`; anything else is a 400.
    static func lifetime(_ value: JSONValue?) throws -> TokenAdministration.Lifetime? {
        switch value {
        case nil, .null?: return nil
        case .int(-1)?: return .persistent
        case .string(let text)? where text == "-1": return .persistent
        case .string(let text)?:
            guard let duration = DurationText.parse(text) else {
                throw APIError.badRequest("INVALID_EXPIRES_IN", "expiresIn must be like \"15m\", \"2h\", \"7d\", or -1.")
            }
            return .duration(duration)
        default:
            throw APIError.badRequest("INVALID_EXPIRES_IN", "expiresIn must be like \"15m\", \"2h\", \"7d\", or -1.")
        }
    }
}
