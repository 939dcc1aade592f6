import Policy
import PortcullisCore
import Testing

@Suite("The grant rule and the ceiling")
struct GrantRuleTests {
    static let grants = AuthorizerTests.policies.grants

    @Test("unknown, restricted, not held and not tenant-grantable permissions are refused, naming the first at fault")
    func grantRefusals() {
        let tenantAdmin = principal(["tenant.all"])
        #expect(Self.grants.decideGrant(tenantAdmin, ["flows.read", "no.such"]).reason == GrantRule.Reason.unknown)
        let restricted = Self.grants.decideGrant(tenantAdmin, ["flows.read", "iam.account.read", "iam.token.exchange"])
        #expect(restricted.reason == GrantRule.Reason.restricted)
        #expect(restricted.required == ["iam.account.read"])
        // Held directly, but a tenant admin grants only what the catalog marks tenantGrantable.
        let exchange = Self.grants.decideGrant(principal(["tenant.all", "iam.token.exchange"]), ["iam.token.exchange"])
        #expect(exchange.reason == GrantRule.Reason.notTenantGrantable)
        #expect(exchange.required == ["iam.token.exchange"])
        let notHeld = Self.grants.decideGrant(principal(["tenant.account.create", "flows.read"]), ["flows.write"])
        #expect(notHeld.reason == GrantRule.Reason.notHeld)
        #expect(notHeld.outcome == .deny)
        // A token's scope narrows what its bearer can give away.
        #expect(Self.grants.decideGrant(principal(["tenant.all"], scope: ["flows.read"]), ["flows.write"]).reason == GrantRule.Reason.notHeld)
    }

    @Test("what the caller holds and may give is grantable; platform admins grant everything")
    func grantAllowed() {
        #expect(Self.grants.decideGrant(principal(["tenant.all"]), ["flows.read", "logs.push", "tenant.account.read"]).allowed)
        #expect(Self.grants.decideGrant(principal(["flows.read", "iam.token.exchange"]), ["iam.token.exchange"]).allowed)
        #expect(Self.grants.decideGrant(principal(["all"]), ["all", "tenant.all", "iam.token.introspect"]).allowed)
        #expect(Self.grants.decideGrant(principal([]), []).allowed)
        #expect(Self.grants.decideGrant(principal(["all"]), ["flows.read"]).policyRevision == AuthorizerTests.policies.revision)
    }

    @Test("the ceiling: acting on an account needs everything it holds, platform admins exempt")
    func ceiling() {
        let tenantAdmin = principal(["tenant.all"])
        #expect(Self.grants.decideCeiling(tenantAdmin, over: ["flows.read", "flows.write"]).allowed)
        #expect(Self.grants.decideCeiling(tenantAdmin, over: ["tenant.all"]).allowed, "a peer tenant admin is within the ceiling")
        let helpdesk = principal(["tenant.account.update", "flows.read"])
        let refused = Self.grants.decideCeiling(helpdesk, over: ["tenant.all"])
        #expect(refused.reason == GrantRule.Reason.exceedsCaller)
        #expect(refused.required == ["tenant.all"])
        #expect(Self.grants.decideCeiling(helpdesk, over: ["flows.write", "flows.read"]).required == ["flows.write"])
        #expect(Self.grants.decideCeiling(tenantAdmin, over: ["iam.token.exchange"]).allowed == false)
        #expect(Self.grants.decideCeiling(principal(["all"]), over: ["all", "bus.deadletters.manage"]).allowed)
        #expect(GrantRule.message(for: refused) == "The account holds tenant.all, which you do not hold.")
    }

    @Test("custom permissions only narrow: held by the account and by the caller")
    func narrowing() {
        let caller = principal(["flows.read", "flows.write"])
        #expect(Self.grants.decideNarrowing(caller, ["flows.read"], within: ["flows.read", "logs.read"]).allowed)
        #expect(Self.grants.decideNarrowing(caller, ["flows.write"], within: ["flows.read"]).reason == GrantRule.Reason.exceedsAccount)
        let notHeld = Self.grants.decideNarrowing(caller, ["logs.read"], within: ["flows.read", "logs.read"])
        #expect(notHeld.reason == GrantRule.Reason.notHeld)
        #expect(notHeld.required == ["logs.read"])
        #expect(Self.grants.decideNarrowing(caller, ["nope"], within: ["all"]).reason == GrantRule.Reason.unknown)
        #expect(Self.grants.decideNarrowing(principal(["all"]), ["bus.deadletters.manage"], within: ["all"]).allowed)
    }
}
