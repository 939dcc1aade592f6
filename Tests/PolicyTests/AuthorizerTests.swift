import Foundation
import Policy
import PortcullisCore
import Testing

func principal(_ permissions: Set<String>, tenant: String? = "t1", id: String = "me", scope: Set<String>? = nil) -> Principal {
    Principal(
        accountID: id, username: id, tenant: tenant, type: .user, roles: [], granted: permissions, scope: scope, tokenID: "tok",
        tokenType: "access_token", expiresAt: nil, actor: nil)
}

@Suite("Authorizer decisions")
struct AuthorizerTests {
    static let policies = try! PolicySet.load(directory: PolicySetTests.shipped)
    static let read = ResourceAction(platform: "iam.account.read", tenant: "tenant.account.read")

    @Test("resource checks: platform permission anywhere, tenant permission in its tenant, the owner when allowed")
    func resourceDecisions() {
        let authorizer = Self.policies.authorizer
        let foreign = ResourceRef(type: "account", id: "a2", tenant: "t2")
        let local = ResourceRef(type: "account", id: "a1", tenant: "t1")
        #expect(authorizer.decide(principal(["iam.account.read"]), Self.read, on: foreign).reason == "ALLOWED")
        #expect(authorizer.decide(principal(["tenant.all"]), Self.read, on: local).reason == "TENANT")
        let denied = authorizer.decide(principal(["tenant.all"]), Self.read, on: foreign)
        #expect(denied.outcome == .deny)
        #expect(denied.reason == "NOT_VISIBLE")
        #expect(denied.policyRevision == Self.policies.revision)
        // A tenant admin without a tenant sees no tenant's resources.
        #expect(authorizer.decide(principal(["tenant.all"], tenant: nil), Self.read, on: local).reason == "NOT_VISIBLE")
        #expect(authorizer.decide(principal(["flows.read"]), Self.read, on: local).reason == "MISSING_PERMISSION")
        let revoke = ResourceAction(platform: "iam.token.delete", ownerMay: true)
        #expect(authorizer.decide(principal([]), revoke, on: ResourceRef(type: "token", id: "t", tenant: nil, owner: "me")).reason == "OWNER")
        #expect(authorizer.decide(principal([]), revoke, on: ResourceRef(type: "token", id: "t", tenant: nil, owner: "you")).allowed == false)
        // A scope narrows resource checks too.
        #expect(authorizer.decide(principal(["all"], scope: ["flows.read"]), Self.read, on: local).allowed == false)
    }

    @Test("resources with several owners: the platform permission, then the caller's account, then its tenant; nothing else sees them")
    func severalOwners() {
        let authorizer = Self.policies.authorizer
        let owners: Set<String> = ["alice", "acme"]
        #expect(authorizer.decide(principal([], tenant: "globex", id: "alice"), platform: "all", ownedBy: owners).reason == "OWNER")
        #expect(authorizer.decide(principal([], tenant: "acme", id: "bob"), platform: "all", ownedBy: owners).reason == "TENANT")
        let stranger = authorizer.decide(principal(["flows.read"], tenant: "globex", id: "eve"), platform: "all", ownedBy: owners)
        #expect(stranger.outcome == .deny && stranger.reason == "NOT_VISIBLE")
        #expect(authorizer.decide(principal([], tenant: nil, id: "eve"), platform: "all", ownedBy: owners).allowed == false)
        #expect(authorizer.decide(principal(["all"], tenant: nil, id: "root"), platform: "all", ownedBy: owners).reason == "ALLOWED")
        // A token narrowed by scope does not carry the platform permission.
        #expect(
            authorizer.decide(principal(["all"], tenant: nil, id: "root", scope: ["flows.read"]), platform: "all", ownedBy: owners).allowed == false)
    }

    @Test("route decisions name the rule and the revision; no rule is NO_ROUTE")
    func routeDecisions() {
        let allowed = Self.policies.decide(principal(["iam.token.read"]), method: "GET", path: "/api/v1/tokens/abc")
        #expect(allowed.allowed)
        #expect(allowed.rule == "token-read")
        #expect(allowed.policyRevision == Self.policies.revision)
        let anonymous = Self.policies.decide(nil, method: "GET", path: "/api/v1/tokens/abc")
        #expect(anonymous.reason == "UNAUTHENTICATED")
        let missing = Self.policies.decide(nil, method: "GET", path: "/api/v1/tokens/abc/extra")
        #expect(missing.reason == "NO_ROUTE")
        #expect(missing.rule == nil)
    }

    @Test("checks record their decision with the request's recorder, and fail closed when it cannot record")
    func checkRecords() async throws {
        let recorder = CollectingRecorder()
        let authorizer = Self.policies.authorizer
        let resource = ResourceRef(type: "account", id: "a2", tenant: "t2")
        let allowed = try await authorizer.check(principal(["tenant.all"]), Self.read, on: resource, recordingTo: recorder)
        #expect(allowed == false)
        #expect(recorder.decisions.map(\.0.reason) == ["NOT_VISIBLE"])
        #expect(recorder.decisions.first?.1 == resource)
        await #expect(throws: CollectingRecorder.Refused.self) {
            try await authorizer.check(principal(["all"]), Self.read, on: resource, recordingTo: CollectingRecorder(refuse: true))
        }
        // Work without a recorder cannot pass a check unrecorded.
        await #expect(throws: NoDecisionRecorder.Missing.self) {
            try await authorizer.check(principal(["all"]), Self.read, on: resource, recordingTo: NoDecisionRecorder())
        }
    }
}

final class CollectingRecorder: ResourceDecisionRecorder, @unchecked Sendable {
    struct Refused: Error {}
    let refuse: Bool
    private let lock = NSLock()
    private var stored: [(Decision, ResourceRef)] = []

    init(refuse: Bool = false) {
        self.refuse = refuse
    }

    var decisions: [(Decision, ResourceRef)] { self.lock.withLock { self.stored } }

    func settle() async throws {
        if self.refuse { throw Refused() }
    }

    func record(_ decision: Decision, about principal: Principal?, resource: ResourceRef) async throws {
        if self.refuse { throw Refused() }
        self.lock.withLock { self.stored.append((decision, resource)) }
    }
}

@Suite("Reloading policies")
struct PolicyStoreTests {
    @Test("a reload with a broken file keeps the set in force; a good one replaces it")
    func reload() throws {
        let directory = try PolicySetTests.directory(permissions: PolicySetTests.minimalPermissions, roles: PolicySetTests.minimalRoles)
        let store = try PolicyStore(directory: directory)
        let first = store.current.revision
        try "rules: [ {id: broken".write(toFile: directory + "/routes.yaml", atomically: true, encoding: .utf8)
        #expect(throws: PolicyError.self) { try store.reload() }
        #expect(store.current.revision == first)
        #expect(store.current.routes.rules.count == 2)
        try (PolicySetTests.minimalRoutes + "\n  - {id: more, methods: [GET], path: /more, auth: public}\n")
            .write(toFile: directory + "/routes.yaml", atomically: true, encoding: .utf8)
        let reloaded = try store.reload()
        #expect(reloaded.revision != first)
        #expect(store.current.routes.rules.count == 3)
    }
}
