import Policy
import PortcullisCore
import Testing

@Suite("The grant rule and the ceiling")
struct GrantRuleTests {
    static let grants = AuthorizerTests.policies.grants

    @Test("unknown, restricted, not held and not tenant-grantable permissions are refused, naming the first at fault")
    func grantRefusals() {
        let tenantAdmin = principal(["tenant.all"])
        #expect(Self.grants.decideGrant(tenantAdmin, ["flows.read", "no.such"]).refusal?.reason == "UNKNOWN_PERMISSION")
        let restricted = Self.grants.decideGrant(tenantAdmin, ["flows.read", "iam.account.read", "iam.token.exchange"])
        #expect(restricted.refusal == .restricted("iam.account.read"))
        #expect(restricted.decision.required == ["iam.account.read"])
        // Held directly, but a tenant admin grants only what the catalog marks tenantGrantable.
        let exchange = Self.grants.decideGrant(principal(["tenant.all", "iam.token.exchange"]), ["iam.token.exchange"])
        #expect(exchange.refusal == .notTenantGrantable("iam.token.exchange"))
        #expect(exchange.decision.required == ["iam.token.exchange"])
        let notHeld = Self.grants.decideGrant(principal(["tenant.account.create", "flows.read"]), ["flows.write"])
        #expect(notHeld.refusal?.reason == "NOT_HELD")
        #expect(notHeld.decision.outcome == .deny)
        // A token's scope narrows what its bearer can give away.
        #expect(Self.grants.decideGrant(principal(["tenant.all"], scope: ["flows.read"]), ["flows.write"]).refusal?.reason == "NOT_HELD")
    }

    @Test("what the caller holds and may give is grantable; platform admins grant everything")
    func grantAllowed() {
        #expect(Self.grants.decideGrant(principal(["tenant.all"]), ["flows.read", "logs.push", "tenant.account.read"]).decision.allowed)
        #expect(Self.grants.decideGrant(principal(["flows.read", "iam.token.exchange"]), ["iam.token.exchange"]).decision.allowed)
        #expect(Self.grants.decideGrant(principal(["all"]), ["all", "tenant.all", "iam.token.introspect"]).decision.allowed)
        #expect(Self.grants.decideGrant(principal([]), []).decision.allowed)
        #expect(Self.grants.decideGrant(principal(["all"]), ["flows.read"]).decision.policyRevision == AuthorizerTests.policies.revision)
    }

    @Test("the ceiling: acting on an account needs everything it holds, platform admins exempt")
    func ceiling() {
        let tenantAdmin = principal(["tenant.all"])
        #expect(Self.grants.decideCeiling(tenantAdmin, over: ["flows.read", "flows.write"]).decision.allowed)
        #expect(Self.grants.decideCeiling(tenantAdmin, over: ["tenant.all"]).decision.allowed, "a peer tenant admin is within the ceiling")
        let helpdesk = principal(["tenant.account.update", "flows.read"])
        let refused = Self.grants.decideCeiling(helpdesk, over: ["tenant.all"])
        #expect(refused.refusal == .exceedsCaller("tenant.all"))
        #expect(refused.decision.required == ["tenant.all"])
        #expect(Self.grants.decideCeiling(helpdesk, over: ["flows.write", "flows.read"]).decision.required == ["flows.write"])
        #expect(Self.grants.decideCeiling(tenantAdmin, over: ["iam.token.exchange"]).decision.allowed == false)
        #expect(Self.grants.decideCeiling(principal(["all"]), over: ["all", "bus.deadletters.manage"]).decision.allowed)
        #expect(refused.refusal?.message == "The account holds tenant.all, which you do not hold.")
    }

    @Test("custom permissions only narrow: held by the account and by the caller")
    func narrowing() {
        let caller = principal(["flows.read", "flows.write"])
        #expect(Self.grants.decideNarrowing(caller, ["flows.read"], within: ["flows.read", "logs.read"]).decision.allowed)
        #expect(Self.grants.decideNarrowing(caller, ["flows.write"], within: ["flows.read"]).refusal == .exceedsAccount("flows.write"))
        let notHeld = Self.grants.decideNarrowing(caller, ["logs.read"], within: ["flows.read", "logs.read"])
        #expect(notHeld.refusal?.reason == "NOT_HELD")
        #expect(notHeld.decision.required == ["logs.read"])
        #expect(Self.grants.decideNarrowing(caller, ["nope"], within: ["all"]).refusal?.reason == "UNKNOWN_PERMISSION")
        #expect(Self.grants.decideNarrowing(principal(["all"]), ["bus.deadletters.manage"], within: ["all"]).decision.allowed)
    }
}
