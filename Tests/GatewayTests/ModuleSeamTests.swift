import AuditLog
import DeadLetters
import Foundation
import Gateway
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import IAM
import Messaging
import NIOCore
import Policy
import PortcullisCore
import Storage
import TestSupport
import Testing

/// A module that publishes an audit event in its start-up step, placed before the audit module in the list.
struct PublishingModule: GatewayModule {
    static let name = "publishing"
    static let migrations: [Migration] = []

    let environment: ModuleEnvironment

    init(environment: ModuleEnvironment) {
        self.environment = environment
    }

    func registerRoutes(on routes: RouteRegistry) {}

    func prepare() async throws {
        let event = try Event(name: "audit.test.prepared", serviceName: "publishing", payload: ["step": "prepare"], now: self.environment.clock.now)
        try await self.environment.messaging.bus.publish(event)
    }
}

@Suite("The module seam")
struct ModuleSeamTests {
    @Test("every module binds before any module prepares: an audit event published in a start-up step is not lost", arguments: Backend.allCases)
    func bindBeforePrepare(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            // The publishing module comes before the audit module: its step runs before the audit module's
            // own start-up step would, and the audit group must be bound by then.
            let modules: [any GatewayModule.Type] = [IAMModule.self, PublishingModule.self, AuditModule.self, DeadLetterModule.self]
            try await withAssembledGateway(database: database, modules: modules) { _, client in
                let login = try await client.execute(
                    uri: "/login", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"username":"admin","password":"\#(IdentityEnvironment.adminPassword)"}"#))
                let token = try #require(login.json?["token"]?.stringValue)
                let found = try await eventually {
                    let response = try await client.execute(
                        uri: "/logs?filter%5Bname%5D=audit.test.prepared", method: .get, headers: [.authorization: "Bearer \(token)"])
                    return response.json?["data"]?.arrayValue?.count == 1
                }
                #expect(found, "the event published while preparing reached the audit log")
            }
        }
    }

    @Test("the assembly refuses a module list in which no module verifies bearer tokens")
    func refusesBadLists() async throws {
        try await TestDatabases.withDatabase(.sqlite) { database in
            #expect(throws: AssemblyError.self) {
                try GatewayAssembly(
                    configuration: testConfiguration(), database: database, policies: try PolicyStore(directory: PortcullisProcess.policiesDirectory),
                    masterKey: MasterKey(base64: TestDatabases.masterKey)!, modules: [AuditModule.self], logger: TestDatabases.logger)
            }
        }
    }

    @Test("modules offer capabilities without imports: the identity module's account directory", arguments: Backend.allCases)
    func accountDirectory(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let directory = try env.capabilities.require((any AccountDirectory).self)
            let worker = try await env.makeAccount("directory-user", password: "directory-pass-1", tenant: "acme")
            #expect(try await directory.account(worker.id) == AccountSummary(id: worker.id, tenant: "acme", type: "user", active: true))
            #expect(try await directory.account("no-such-account") == nil)
            // One provider per capability: a second is a composition error.
            #expect(throws: AssemblyError.self) { try env.capabilities.provide((any AccountDirectory).self, directory) }
        }
        let empty = ModuleCapabilities()
        #expect(empty.get((any AccountDirectory).self) == nil)
        #expect(throws: AssemblyError.self) { try empty.require((any AccountDirectory).self) }
    }
}
