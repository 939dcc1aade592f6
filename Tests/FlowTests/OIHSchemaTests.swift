import Foundation
import GatewayTestSupport
import HTTPTypes
import PortcullisCore
import TestSupport
import Testing

/// Checks the Flow object `GET /flows/{id}` answers against the Flow schema of OIH's published spec
/// (`Fixtures/oih-flow-repository.json`, a copy of `flow-repository.json`): every field the schema
/// names has the schema's JSON type, every required field is there, and `status` is one of its values.
@Suite("OIH's Flow schema")
struct OIHSchemaTests {
    /// OIH's spec requires a node field `command` that OIH's own service never stores or returns (nodes
    /// carry `function`); the contract follows the service.
    static let specErrata: Set<String> = ["graph.nodes[].command"]

    static func spec() throws -> JSONValue {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/oih-flow-repository.json")
        return try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url))
    }

    /// `schema` with `$ref` resolved and `allOf` merged into one object schema.
    static func resolve(_ schema: JSONValue, in spec: JSONValue) -> JSONValue {
        if let ref = schema["$ref"]?.stringValue, let name = ref.split(separator: "/").last {
            return Self.resolve(spec["components"]?["schemas"]?[String(name)] ?? .null, in: spec)
        }
        guard let parts = schema["allOf"]?.arrayValue else { return schema }
        var properties: [String: JSONValue] = [:]
        var required: [JSONValue] = []
        for part in parts.map({ Self.resolve($0, in: spec) }) {
            if case .object(let more)? = part["properties"] { properties.merge(more) { $1 } }
            required += part["required"]?.arrayValue ?? []
        }
        return ["type": "object", "properties": .object(properties), "required": .array(required)]
    }

    /// Problems of `value` against `schema`, with their paths.
    static func problems(_ value: JSONValue, _ schema: JSONValue, path: String, spec: JSONValue) -> [String] {
        let schema = Self.resolve(schema, in: spec)
        var found: [String] = []
        let type = schema["type"]?.stringValue
        switch (type, value) {
        case ("object", .object(let fields)):
            for required in schema["required"]?.arrayValue ?? [] {
                guard let name = required.stringValue, !Self.specErrata.contains(path.isEmpty ? name : "\(path).\(name)") else { continue }
                if fields[name] == nil { found.append("\(path).\(name) is required") }
            }
            if case .object(let properties)? = schema["properties"] {
                for (name, property) in properties {
                    guard let field = fields[name] else { continue }
                    found += Self.problems(field, property, path: path.isEmpty ? name : "\(path).\(name)", spec: spec)
                }
            }
        case ("array", .array(let items)):
            for item in items { found += Self.problems(item, schema["items"] ?? .null, path: "\(path)[]", spec: spec) }
        case ("string", .string(let text)):
            if path == "status", let values = schema["enum"]?.arrayValue, !values.contains(.string(text)) {
                found.append("\(path) \(text) not in enum")
            }
        case ("number", .int), ("number", .double), ("integer", .int), ("boolean", .bool), (nil, _):
            break
        default:
            found.append("\(path) should be \(type ?? "?"), is \(value)")
        }
        return found
    }

    @Test("GET /flows/{id} answers a Flow of OIH's schema", arguments: Backend.allCases)
    func flowMatchesSchema(backend: Backend) async throws {
        let spec = try Self.spec()
        let flowSchema = try #require(spec["components"]?["schemas"]?["Flow"])
        try await withIdentityGateway(backend) { env in
            let alice = try await env.user("alice", tenant: "t1")
            let body = FlowFixtures.flow(extra: [
                "cron": "*/5 * * * *",
                "graph": [
                    "nodes": [
                        [
                            "id": "step_1", "componentId": "c1", "function": "getPersons", "name": "source", "description": "d",
                            "credentials_id": "k1", "fields": ["a": 1],
                        ],
                        ["id": "step_2", "componentId": "c2", "function": "execute"],
                    ],
                    "edges": [["id": "e1", "source": "step_1", "target": "step_2", "config": ["condition": "true", "mapper": ["x": "y"]]]],
                ],
            ])
            let id = try #require(try await env.createFlow(body, token: alice.token)["id"]?.stringValue)
            let flow = try #require(try await env.call(.get, "/flows/\(id)", token: alice.token).json?["data"])
            #expect(Self.problems(flow, flowSchema, path: "", spec: spec) == [])
            // The checker does find a wrong type.
            guard case .object(var broken) = flow else { Issue.record("not an object"); return }
            broken["owners"] = "alice"
            broken["createdAt"] = nil
            #expect(Self.problems(.object(broken), flowSchema, path: "", spec: spec).count == 2)
        }
    }
}
