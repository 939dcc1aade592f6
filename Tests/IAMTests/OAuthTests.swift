import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IAM
import NIOCore
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("OAuth endpoints and service accounts")
struct OAuthTests {
    static func form(_ env: IdentityEnvironment, _ uri: String, _ fields: [(String, String)], headers: HTTPFields = [:]) async throws -> TestResponse
    {
        var headers = headers
        headers[.contentType] = "application/x-www-form-urlencoded"
        let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        return try await env.client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    static func basic(_ id: String, _ secret: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()]
    }

    /// A service account with `permissions`, created by the admin over HTTP; returns its credentials.
    static func serviceAccount(_ env: IdentityEnvironment, name: String, permissions: [String] = []) async throws -> (
        id: String, clientID: String, secret: String
    ) {
        let admin = try await env.adminToken()
        let response = try await env.post(
            "/api/v1/service-accounts", json: ["name": .string(name), "permissions": .array(permissions.map(JSONValue.string))], token: admin
        )
        #expect(response.status == .created)
        let data = try #require(response.json?["data"])
        return (try #require(data["id"]?.stringValue), try #require(data["clientId"]?.stringValue), try #require(data["clientSecret"]?.stringValue))
    }

    @Test("the password grant answers access and refresh tokens with no-store", arguments: Backend.allCases)
    func passwordGrant(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let response = try await Self.form(
                env, "/oauth2/token", [("grant_type", "password"), ("username", "admin"), ("password", IdentityEnvironment.adminPassword)]
            )
            #expect(response.status == .ok)
            #expect(response.headers[.cacheControl] == "no-store")
            let access = try #require(response.json?["access_token"]?.stringValue)
            #expect(response.json?["token_type"] == "Bearer")
            #expect(response.json?["expires_in"] == 900)
            #expect(response.json?["refresh_token"]?.stringValue?.hasPrefix("pcr_") == true)
            #expect(try await env.get("/api/v1/users/me", token: access).status == .ok)
            let wrong = try await Self.form(
                env, "/oauth2/token", [("grant_type", "password"), ("username", "admin"), ("password", "nope-nope-nope")])
            #expect(wrong.status == .badRequest)
            #expect(wrong.json?["error"] == "invalid_grant")
            #expect(wrong.json?["errors"] == nil, "OAuth endpoints answer RFC 6749 errors, not the envelope")
        }
    }

    @Test("refresh tokens rotate, and replaying a retired one revokes the whole family", arguments: Backend.allCases)
    func refreshRotation(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let first = try await Self.form(
                env, "/oauth2/token", [("grant_type", "password"), ("username", "admin"), ("password", IdentityEnvironment.adminPassword)])
            let refresh1 = try #require(first.json?["refresh_token"]?.stringValue)
            let access1 = try #require(first.json?["access_token"]?.stringValue)
            let second = try await Self.form(env, "/oauth2/token", [("grant_type", "refresh_token"), ("refresh_token", refresh1)])
            #expect(second.status == .ok)
            let refresh2 = try #require(second.json?["refresh_token"]?.stringValue)
            let access2 = try #require(second.json?["access_token"]?.stringValue)
            #expect(refresh2 != refresh1)
            #expect(try await env.get("/api/v1/users/me", token: access2).status == .ok)

            let replay = try await Self.form(env, "/oauth2/token", [("grant_type", "refresh_token"), ("refresh_token", refresh1)])
            #expect(replay.json?["error"] == "invalid_grant")
            // The whole family is dead now: the current refresh token and the access tokens from it.
            #expect(
                try await Self.form(env, "/oauth2/token", [("grant_type", "refresh_token"), ("refresh_token", refresh2)]).json?["error"]
                    == "invalid_grant")
            #expect(try await env.get("/api/v1/users/me", token: access2).status == .unauthorized)
            #expect(try await env.get("/api/v1/users/me", token: access1).status == .unauthorized)
            // A refresh token is no bearer token.
            #expect(try await env.get("/api/v1/users/me", token: refresh2).status == .unauthorized)
        }
    }

    @Test("client credentials by Basic or form; wrong secrets 401; rotation retires the old secret", arguments: Backend.allCases)
    func clientCredentials(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let service = try await Self.serviceAccount(env, name: "billing-sync")
            #expect(service.secret.hasPrefix("pcc_"))
            let basic = try await Self.form(
                env, "/oauth2/token", [("grant_type", "client_credentials")], headers: Self.basic(service.clientID, service.secret))
            #expect(basic.status == .ok)
            let token = try #require(basic.json?["access_token"]?.stringValue)
            #expect(try await env.get("/api/v1/users/me", token: token).json?["data"]?["type"] == "service")
            let viaForm = try await Self.form(
                env, "/oauth2/token", [("grant_type", "client_credentials"), ("client_id", service.clientID), ("client_secret", service.secret)]
            )
            #expect(viaForm.status == .ok)
            let wrong = try await Self.form(
                env, "/oauth2/token", [("grant_type", "client_credentials")], headers: Self.basic(service.clientID, "pcc_wrong"))
            #expect(wrong.status == .unauthorized)
            #expect(wrong.json?["error"] == "invalid_client")

            let rotated = try await env.post("/api/v1/service-accounts/\(service.id)/secret", json: [:], token: try await env.adminToken())
            let newSecret = try #require(rotated.json?["data"]?["clientSecret"]?.stringValue)
            #expect(
                try await Self.form(
                    env, "/oauth2/token", [("grant_type", "client_credentials")], headers: Self.basic(service.clientID, service.secret)
                ).status == .unauthorized)
            #expect(
                try await Self.form(env, "/oauth2/token", [("grant_type", "client_credentials")], headers: Self.basic(service.clientID, newSecret))
                    .status == .ok)
            let stored = try await env.database.first("SELECT secret_hash FROM iam_service_clients WHERE client_id = \(service.clientID)")
            #expect(try stored?.string("secret_hash") != newSecret, "only a keyed hash is stored")
        }
    }

    @Test("service accounts are listed, read and deleted in scope; deletion stops their clients", arguments: Backend.allCases)
    func serviceAccountLifecycle(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let service = try await Self.serviceAccount(env, name: "lifecycle")
            _ = try await env.makeAccount("person", password: "person-password-1")
            let listed = try await env.get("/api/v1/service-accounts", token: admin)
            #expect(listed.json?["meta"]?["total"] == 1, "people are not service accounts")
            #expect(listed.json?["data"]?.arrayValue?.first?["type"] == "service")
            #expect(try await env.get("/api/v1/service-accounts/\(service.id)", token: admin).json?["data"]?["username"] == "lifecycle")
            let person = try #require(try await env.identity.accounts.credentials(username: "person")?.account.id)
            #expect(try await env.get("/api/v1/service-accounts/\(person)", token: admin).status == .notFound)
            let deleted = try await env.client.execute(
                uri: "/api/v1/service-accounts/\(service.id)", method: .delete, headers: [.authorization: "Bearer \(admin)"]
            )
            #expect(deleted.status == .noContent)
            #expect(
                try await Self.form(
                    env, "/oauth2/token", [("grant_type", "client_credentials")], headers: Self.basic(service.clientID, service.secret)
                ).status == .unauthorized)
            #expect(try await env.get("/api/v1/service-accounts/\(service.id)", token: admin).status == .notFound)
        }
    }

    @Test("token exchange narrows the scope, records the actor in act, and nests chains", arguments: Backend.allCases)
    func exchange(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let user = try await env.makeAccount("subject", password: "subject-pass-12", permissions: ["iam.account.read", "flows.read"])
            let userToken = try await env.login("subject", "subject-pass-12")
            let actor = try await Self.serviceAccount(env, name: "orchestrator", permissions: ["iam.token.exchange"])
            let exchanged = try await Self.form(
                env, "/oauth2/token",
                [
                    ("grant_type", OAuthService.tokenExchange), ("subject_token", userToken), ("subject_token_type", OAuthService.accessTokenType),
                    ("scope", "flows.read"),
                ],
                headers: Self.basic(actor.clientID, actor.secret)
            )
            #expect(exchanged.status == .ok)
            #expect(exchanged.json?["issued_token_type"] == .string(OAuthService.accessTokenType))
            #expect(exchanged.json?["scope"] == "flows.read")
            let token = try #require(exchanged.json?["access_token"]?.stringValue)
            let claims = try JWTParts(token).payload
            #expect(claims["sub"]?.stringValue == user.id)
            #expect(claims["act"]?["sub"]?.stringValue == actor.id)
            #expect(try await env.get("/api/v1/users", token: token).status == .forbidden, "narrowed to flows.read")

            // Exchanged again by another actor: the chain nests.
            let second = try await Self.serviceAccount(env, name: "worker-two", permissions: ["iam.token.exchange"])
            let chained = try await Self.form(
                env, "/oauth2/token",
                [("grant_type", OAuthService.tokenExchange), ("subject_token", token), ("subject_token_type", OAuthService.accessTokenType)],
                headers: Self.basic(second.clientID, second.secret)
            )
            let chainedClaims = try JWTParts(try #require(chained.json?["access_token"]?.stringValue)).payload
            #expect(chainedClaims["act"]?["sub"]?.stringValue == second.id)
            #expect(chainedClaims["act"]?["act"]?["sub"]?.stringValue == actor.id)

            let widening = try await Self.form(
                env, "/oauth2/token",
                [
                    ("grant_type", OAuthService.tokenExchange), ("subject_token", userToken), ("subject_token_type", OAuthService.accessTokenType),
                    ("scope", "iam.tenant.delete"),
                ],
                headers: Self.basic(actor.clientID, actor.secret)
            )
            #expect(widening.json?["error"] == "invalid_scope")
            let outsider = try await Self.serviceAccount(env, name: "no-exchange")
            let refused = try await Self.form(
                env, "/oauth2/token",
                [("grant_type", OAuthService.tokenExchange), ("subject_token", userToken), ("subject_token_type", OAuthService.accessTokenType)],
                headers: Self.basic(outsider.clientID, outsider.secret)
            )
            #expect(refused.status == .forbidden)
        }
    }

    @Test("introspect needs a client or bearer with iam.token.introspect; revoke answers 200 and kills the token", arguments: Backend.allCases)
    func introspectAndRevoke(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let service = try await Self.serviceAccount(env, name: "checker", permissions: ["iam.token.introspect"])
            let plain = try await Self.serviceAccount(env, name: "plain")
            let token = try await env.adminToken()
            #expect(try await Self.form(env, "/oauth2/introspect", [("token", token)]).status == .unauthorized)
            let refused = try await Self.form(env, "/oauth2/introspect", [("token", token)], headers: Self.basic(plain.clientID, plain.secret))
            #expect(refused.status == .forbidden, "a client without iam.token.introspect learns nothing of other tokens")
            #expect(refused.json?["active"] == nil)
            let introspected = try await Self.form(
                env, "/oauth2/introspect", [("token", token)], headers: Self.basic(service.clientID, service.secret))
            #expect(introspected.json?["active"] == true)
            #expect(introspected.json?["username"] == "admin")
            #expect(introspected.json?["client_id"] == nil, "a person's token names no client")
            let clientResponse = try await Self.form(
                env, "/oauth2/token", [("grant_type", "client_credentials")], headers: Self.basic(service.clientID, service.secret))
            let clientToken = try #require(clientResponse.json?["access_token"]?.stringValue)
            let ofClient = try await Self.form(
                env, "/oauth2/introspect", [("token", clientToken)], headers: Self.basic(service.clientID, service.secret))
            #expect(ofClient.json?["client_id"]?.stringValue == service.clientID)

            let revoked = try await Self.form(env, "/oauth2/revoke", [("token", token)], headers: [.authorization: "Bearer \(token)"])
            #expect(revoked.status == .ok)
            #expect(try await env.get("/api/v1/users/me", token: token).status == .unauthorized)
            let unknown = try await Self.form(
                env, "/oauth2/revoke", [("token", "nothing-like-a-token")], headers: Self.basic(service.clientID, service.secret))
            #expect(unknown.status == .ok, "RFC 7009: also for unknown tokens")
        }
    }

    @Test("malformed OAuth requests get RFC 6749 errors", arguments: Backend.allCases)
    func badRequests(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let json = try await env.post("/oauth2/token", json: ["grant_type": "password"])
            #expect(json.json?["error"] == "invalid_request")
            #expect(try await Self.form(env, "/oauth2/token", [("grant_type", "magic")]).json?["error"] == "unsupported_grant_type")
            #expect(try await Self.form(env, "/oauth2/token", []).json?["error"] == "invalid_request")
            let repeated = try await env.client.execute(
                uri: "/oauth2/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "grant_type=password&grant_type=client_credentials")
            )
            #expect(repeated.json?["error"] == "invalid_request")
            let badEscape = try await env.client.execute(
                uri: "/oauth2/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "grant_type=%zz")
            )
            #expect(badEscape.json?["error"] == "invalid_request")
            #expect(try await Self.form(env, "/oauth2/token", [("grant_type", "client_credentials")]).status == .unauthorized)
        }
    }
}
