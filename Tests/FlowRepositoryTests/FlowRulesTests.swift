import Crypto
import FlowRepository
import Foundation
import GatewayKit
import PortcullisCore
import Testing

@Suite("Flow lifecycle, ownership and secrets")
struct FlowRulesTests {
    static func principal(_ id: String, tenant: String?) -> Principal {
        Principal(
            accountID: id, username: id, tenant: tenant, type: .user, roles: [], granted: [], scope: nil, tokenID: "t", tokenType: "access",
            expiresAt: nil, actor: nil)
    }

    @Test("commands and events move the status as API.md §3 says, and publish in the same step")
    func lifecycle() throws {
        func apply(_ status: FlowStatus, _ trigger: FlowLifecycle.Trigger) -> Result<FlowLifecycle.Transition, FlowLifecycle.Refusal> {
            FlowLifecycle.transition(from: status, on: trigger)
        }
        let start = try apply(.inactive, .start).get()
        #expect(start.status == .starting && start.publishes == "flow.starting")
        #expect(try apply(.starting, .started).get().status == .active)
        let stop = try apply(.active, .stop).get()
        #expect(stop.status == .stopping && stop.publishes == "flow.stopping")
        #expect(try apply(.stopping, .stopped).get().status == .inactive)
        // A stop while starting is accepted: nothing is left half-started.
        #expect(try apply(.starting, .stop).get().status == .stopping)
        let failed = try apply(.starting, .failed(reason: "no queue")).get()
        #expect(failed.status == .stopping && failed.publishes == "flow.stopping" && failed.statusReason == "no queue")
    }

    @Test(
        "commands the status forbids are conflicts; events that do not fit change nothing",
        arguments: [
            (FlowStatus.starting, FlowLifecycle.Trigger.start), (.active, .start), (.stopping, .start), (.inactive, .stop), (.stopping, .stop),
        ])
    func conflicts(status: FlowStatus, trigger: FlowLifecycle.Trigger) {
        guard case .failure(.conflict) = FlowLifecycle.transition(from: status, on: trigger) else {
            Issue.record("\(trigger) on \(status) is not a conflict")
            return
        }
    }

    @Test(
        "a late, repeated or out-of-order event is stale",
        arguments: [
            (FlowStatus.active, FlowLifecycle.Trigger.started), (.inactive, .started), (.inactive, .stopped), (.active, .stopped),
            (.inactive, .failed(reason: "x")), (.stopping, .failed(reason: "x")),
        ])
    func stale(status: FlowStatus, trigger: FlowLifecycle.Trigger) {
        #expect(FlowLifecycle.transition(from: status, on: trigger) == .failure(.stale))
    }

    @Test("the creator and its tenant own a new flow; owners outside the caller's tenant are refused, except for platform admins")
    func ownership() async throws {
        let alice = Self.principal("alice", tenant: "acme")
        let sameTenant: @Sendable (String) async throws -> Bool = { $0 == "bob" }
        let owners = try await FlowOwnership.owners(
            requested: [FlowOwner(id: "bob", type: "user")], by: alice, isPlatformAdmin: false, sameTenant: sameTenant)
        #expect(owners == [FlowOwner(id: "alice", type: "user"), FlowOwner(id: "acme", type: "tenant"), FlowOwner(id: "bob", type: "user")])
        for foreign in [FlowOwner(id: "mallory", type: "user"), FlowOwner(id: "globex", type: "tenant"), FlowOwner(id: "x", type: "group")] {
            let refused = await #expect(throws: FlowOwnership.ForeignOwner.self) {
                try await FlowOwnership.owners(requested: [foreign], by: alice, isPlatformAdmin: false, sameTenant: sameTenant)
            }
            #expect(refused?.owner == foreign)
        }
        // A caller without a tenant names no one else.
        await #expect(throws: FlowOwnership.ForeignOwner.self) {
            try await FlowOwnership.owners(
                requested: [FlowOwner(id: "bob", type: "user")], by: Self.principal("solo", tenant: nil), isPlatformAdmin: false,
                sameTenant: sameTenant)
        }
        let admin = try await FlowOwnership.owners(
            requested: [FlowOwner(id: "globex", type: "tenant")], by: Self.principal("root", tenant: nil), isPlatformAdmin: true,
            sameTenant: sameTenant)
        #expect(admin == [FlowOwner(id: "root", type: "user"), FlowOwner(id: "globex", type: "tenant")])
    }

    @Test("visibility: own account or tenant among the owners; platform admins see all")
    func visibility() {
        #expect(FlowOwnership.visibleOwnerIDs(of: Self.principal("root", tenant: nil), isPlatformAdmin: true) == nil)
        #expect(FlowOwnership.visibleOwnerIDs(of: Self.principal("bob", tenant: "acme"), isPlatformAdmin: false) == ["bob", "acme"])
    }

    @Test("a sealed webhook secret opens only for its flow and under its master key")
    func sealing() throws {
        let key = MasterKey(key: SymmetricKey(size: .bits256))
        let sealer = WebhookSecretSealer(masterKey: key)
        let sealed = try sealer.seal("hmac-secret-1", flowID: "f1")
        #expect(!String(decoding: sealed, as: UTF8.self).contains("hmac-secret-1"))
        #expect(sealer.open(sealed, flowID: "f1") == "hmac-secret-1")
        #expect(sealer.open(sealed, flowID: "f2") == nil)
        #expect(WebhookSecretSealer(masterKey: MasterKey(key: SymmetricKey(size: .bits256))).open(sealed, flowID: "f1") == nil)
        var tampered = sealed
        tampered[tampered.count - 1] ^= 1
        #expect(sealer.open(tampered, flowID: "f1") == nil)
    }
}
