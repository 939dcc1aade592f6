import Foundation
public import GatewayKit
public import Hummingbird
public import Logging
public import Policy
public import PortcullisCore

/// What the access step concluded about one request.
public enum AccessOutcome: Sendable, Equatable {
    /// Let it through. `recorded` is false only for an allowed probe (its rule says `record: false`).
    case allow(Decision, principal: Principal?, recorded: Bool)
    /// Refuse it; the deny is recorded first.
    case refuse(Decision, AccessRefusal, principal: Principal?)

    /// The route-level decision, either way.
    public var decision: Decision {
        switch self {
        case .allow(let decision, _, _), .refuse(let decision, _, _): decision
        }
    }
}

/// Canonical path → credentials → the first matching rule of `routes.yaml`, as one pure evaluation that
/// returns a typed ``AccessOutcome``. Nothing is left on the request context for a later step to interpret.
public struct AccessStep: Sendable {
    let authenticator: any BearerAuthenticator

    public init(authenticator: any BearerAuthenticator) {
        self.authenticator = authenticator
    }

    /// Decides `request` under `policies`. Never throws: every failure is a refusal with its reason.
    public func evaluate(_ request: Request, policies: PolicySet, logger: Logger) async -> AccessOutcome {
        let revision = policies.revision
        do {
            _ = try PathCanonicalizer.canonicalPath(of: request.head.path ?? "")
        } catch {
            let refusal = AccessRefusal.nonCanonicalPath(error)
            return .refuse(Decision(outcome: .deny, reason: refusal.reason, policyRevision: revision), refusal, principal: nil)
        }
        let method = request.method.rawValue
        let path = request.uri.path
        let rule = policies.routes.match(method: method, path: path)
        let credentials = await self.credentials(request, logger: logger)
        if case .refused(let refusal) = credentials {
            return .refuse(Decision(outcome: .deny, reason: refusal.reason, rule: rule?.id, policyRevision: revision), refusal, principal: nil)
        }
        let principal = credentials.principal
        let verdict = policies.authorizer.judge(principal, rule: rule)
        guard let denial = verdict.denial else {
            return .allow(verdict.decision, principal: principal, recorded: rule?.recorded ?? true)
        }
        // Credentials of another scheme are anonymous where that is enough (the OAuth endpoints read Basic
        // themselves), and the reason a protected route refuses them.
        if denial == .unauthenticated, case .notBearer = credentials {
            let refusal = AccessRefusal.notABearerToken
            return .refuse(Decision(outcome: .deny, reason: refusal.reason, rule: rule?.id, policyRevision: revision), refusal, principal: nil)
        }
        return .refuse(verdict.decision, AccessRefusal(denial, rule: rule, method: method, path: path), principal: principal)
    }

    enum Credentials {
        case anonymous
        case notBearer
        case verified(Principal)
        case refused(AccessRefusal)

        var principal: Principal? {
            if case .verified(let principal) = self { return principal }
            return nil
        }
    }

    /// No `Authorization` header: anonymous. Another scheme: not a bearer token. A bearer token: verified,
    /// or refused for every route; an outage is a 503, never a 401.
    func credentials(_ request: Request, logger: Logger) async -> Credentials {
        guard let header = request.headers[.authorization] else { return .anonymous }
        guard let token = Self.bearerToken(header) else { return .notBearer }
        do {
            return .verified(try await self.authenticator.verify(token))
        } catch .unavailable(let reason) {
            logger.error("authentication unavailable", metadata: ["error": .string(reason)])
            return .refused(.authenticationUnavailable)
        } catch .accountDisabled {
            return .refused(.accountDisabled)
        } catch {
            return .refused(.invalidToken)
        }
    }

    /// The token of `Bearer <token>` (scheme case-insensitive); nil for other schemes or an empty token.
    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = Self.trimmed(parts[1])
        return token.isEmpty ? nil : token
    }

    /// `text` without leading and trailing white space (`CharacterSet.whitespaces`). An ASCII header, the
    /// usual one, is trimmed of spaces and tabs over its bytes: Foundation's trimming bridges through
    /// `NSString`, which cost 5 % of the CPU of an authenticated request.
    static func trimmed(_ text: Substring) -> String {
        let bytes = text.utf8
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return text.trimmingCharacters(in: .whitespaces) }
        let isBlank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isBlank($0) }), let last = bytes.lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(text[first...last])
    }
}
