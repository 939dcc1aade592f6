public import Foundation
import GatewayKit
public import HTTPTypes
public import HummingbirdTesting
import NIOCore
public import PortcullisCore
import TestSupport

extension IdentityEnvironment {
    /// A request with a chosen request id, so that its decision records can be looked up.
    public func send(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, requestID: String, json: JSONValue? = nil) async throws
        -> TestResponse
    {
        var headers: HTTPFields = [HTTPField.Name("x-request-id")!: requestID]
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            body = ByteBuffer(bytes: try JSONEncoder().encode(json))
        }
        return try await self.client.execute(uri: uri, method: method, headers: headers, body: body)
    }

    /// The records of `requestID` as the platform admin reads them, once the audit consumer has stored at
    /// least `count`.
    public func records(of requestID: String, count: Int = 1, admin: String) async throws -> [JSONValue] {
        let read: @Sendable () async throws -> [JSONValue] = {
            let response = try await self.get("/logs?filter%5BrequestId%5D=\(requestID)&page%5Bsize%5D=100", token: admin)
            return response.json?["data"]?.arrayValue ?? []
        }
        let arrived = try await eventually { try await read().count >= count }
        let found = try await read()
        guard arrived else { throw TestEnvironmentError(description: "no \(count) records for \(requestID): \(found)") }
        return found
    }

    /// The resource-stage records of `requestID` with `outcome` and `reason`, once at least one has arrived.
    public func resourceDecisions(of requestID: String, outcome: String, reason: String, admin: String) async throws -> [JSONValue] {
        let matching: @Sendable () async throws -> [JSONValue] = {
            let response = try await self.get("/logs?filter%5BrequestId%5D=\(requestID)&page%5Bsize%5D=100", token: admin)
            return (response.json?["data"]?.arrayValue ?? []).filter {
                $0["stage"] == "resource" && $0["outcome"]?.stringValue == outcome && $0["reason"]?.stringValue == reason
            }
        }
        let arrived = try await eventually { try await !matching().isEmpty }
        let found = try await matching()
        guard arrived, !found.isEmpty else {
            let all = try await self.get("/logs?filter%5BrequestId%5D=\(requestID)&page%5Bsize%5D=100", token: admin).json?["data"]
            throw TestEnvironmentError(description: "no \(outcome) \(reason) resource decision for \(requestID); records: \(String(describing: all))")
        }
        return found
    }
}
