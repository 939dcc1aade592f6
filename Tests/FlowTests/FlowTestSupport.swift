import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import IAM
import NIOCore
import PortcullisCore
import TestSupport
import Testing

/// Requests and fixtures the flow tests share.
extension IdentityEnvironment {
    func call(_ method: HTTPRequest.Method, _ uri: String, token: String?, json: JSONValue? = nil, requestID: String? = nil) async throws
        -> TestResponse
    {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let requestID { headers[HTTPField.Name("x-request-id")!] = requestID }
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            body = ByteBuffer(bytes: try JSONEncoder().encode(json))
        }
        return try await self.client.execute(uri: uri, method: method, headers: headers, body: body)
    }

    /// Creates a flow and returns it, failing the test on anything but 201.
    func createFlow(_ body: JSONValue = FlowFixtures.flow(), token: String) async throws -> JSONValue {
        let response = try await self.call(.post, "/flows", token: token, json: body)
        guard response.status == .created, let data = response.json?["data"] else {
            throw TestEnvironmentError(description: "creating a flow failed: \(response.status) \(response.bodyText)")
        }
        return data
    }

    /// The flow's status once it is `status`; nil when it never gets there.
    func flowStatus(_ id: String, becomes status: String, token: String) async throws -> JSONValue? {
        let reached = try await eventually(timeout: .seconds(20)) {
            try await self.call(.get, "/flows/\(id)", token: token).json?["data"]?["status"]?.stringValue == status
        }
        return reached ? try await self.call(.get, "/flows/\(id)", token: token).json?["data"] : nil
    }

    /// A user account with `roles` in `tenant`, logged in.
    func user(_ name: String, tenant: String?, roles: [String] = ["USER"], permissions: [String] = []) async throws -> (id: String, token: String) {
        let account = try await self.makeAccount(name, password: "password-of-\(name)", roles: roles, permissions: permissions, tenant: tenant)
        return (account.id, try await self.login(name, "password-of-\(name)"))
    }
}

enum FlowFixtures {
    static func flow(name: String = "Sync contacts", nodes: Int = 2, extra: [String: JSONValue] = [:]) -> JSONValue {
        var graphNodes: [JSONValue] = []
        var edges: [JSONValue] = []
        for index in 1...nodes {
            graphNodes.append(
                ["id": .string("step_\(index)"), "componentId": "5ca5c44c187c040010a9bb8b", "function": "getPersons", "fields": ["x": 1]])
            if index > 1 { edges.append(["source": .string("step_\(index - 1)"), "target": .string("step_\(index)")]) }
        }
        var body: [String: JSONValue] = [
            "name": .string(name), "description": "Contacts from A to B", "type": "ordinary",
            "graph": ["nodes": .array(graphNodes), "edges": .array(edges)],
        ]
        for (key, value) in extra { body[key] = value }
        return .object(body)
    }
}

extension TestResponse {
    /// Every error message of the answer.
    var messages: [String] {
        (self.json?["errors"]?.arrayValue ?? []).compactMap { $0["message"]?.stringValue }
    }
}
