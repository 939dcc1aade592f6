public import Cron
public import Foundation
public import PortcullisCore

/// Checks a flow as a client sent it (a JSON object: a create, or a PATCH merged onto the stored flow) and
/// reports every problem at once, in OIH's words where OIH has them, instead of failing on the first.
///
/// ```swift
/// switch FlowValidator.validate(body) {
/// case .success(let draft): ...
/// case .failure(let failure): throw APIError(status: 400, entries: failure.problems.map(\.entry))
/// }
/// ```
public enum FlowValidator {
    /// Node ids name queues: OIH's limit.
    public static let maximumNodeIDLength = 30
    /// Node ids are path segments of the queue API (`/flows/{id}/steps/{stepId}/...`) and parts of queue
    /// names: letters, digits and `-._~:` only, so that every node can be reached as written.
    static func isNodeIDScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-._~:".unicodeScalars.contains(scalar))
    }

    /// How deep the JSON a flow keeps as written (`fields`, `nodeSettings`, `mapper`) may nest.
    public static let maximumDepth = 32
    /// Bounds that keep one flow a reasonable document.
    public static let maximumNodes = 200
    public static let maximumEdges = 1_000
    /// The most JSON one flow may take (its nodes' `fields` included): every status change writes and
    /// publishes the whole flow, and a listing page holds up to 100 of them, so one tenant's giant flows
    /// would slow everyone's writes and swell every page.
    public static let maximumFlowBytes = 256 * 1024
    static let maximumText = (name: 60, description: 100, type: 30, function: 60, nodeName: 60, nodeDescription: 100, owners: 50)
    static let hmacAlgorithms: Set<String> = ["sha256", "sha384", "sha512"]
    /// The flow types of API.md §10 (`filter[type]`).
    public static let flowTypes: Set<String> = ["ordinary", "long_running"]
    /// Who may own a flow when a client names owners (``FlowOwnership``).
    static let ownerTypes: Set<String> = ["user", "tenant"]

    public struct Problems: Error, Sendable, Hashable {
        public let problems: [FlowProblem]
    }

    public static func validate(_ body: JSONValue) -> Result<FlowDraft, Problems> {
        guard case .object(let object) = body else { return .failure(Problems(problems: [.notAnObject])) }
        if let size = try? JSONCoding.string(body).utf8.count, size > Self.maximumFlowBytes {
            return .failure(Problems(problems: [.invalidField(path: "flow", expected: "at most \(Self.maximumFlowBytes / 1024) KiB of JSON")]))
        }
        var reader = Reader()
        if object["status"] != nil && object["status"] != .null { reader.problems.append(.statusSetManually) }
        let name = reader.text(object, "name", path: "name", limit: Self.maximumText.name)
        if name == nil && Reader.isAbsent(object["name"]) { reader.problems.append(.missingName) }
        let description = reader.text(object, "description", path: "description", limit: Self.maximumText.description)
        // OIH requires a type; absent, it is an ordinary flow.
        let type = reader.text(object, "type", path: "type", limit: Self.maximumText.type) ?? "ordinary"
        if !Self.flowTypes.contains(type) { reader.problems.append(.invalidField(path: "type", expected: "ordinary or long_running")) }
        let tenant = reader.text(object, "tenant", path: "tenant", limit: 64)
        let owners = reader.owners(object["owners"])
        let cron = reader.text(object, "cron", path: "cron", limit: 256)
        if let cron {
            do { _ = try CronExpression(cron) } catch { reader.problems.append(.invalidCron(error.description)) }
        }
        let cronTimezone = reader.text(object, "cronTimezone", path: "cronTimezone", limit: 64)
        if let cronTimezone, TimeZone(identifier: cronTimezone) == nil { reader.problems.append(.invalidCronTimezone) }
        let webhooks = reader.webhooks(object["flowSettings"])
        let graph = reader.graph(object["graph"])
        guard reader.problems.isEmpty, let graph else { return .failure(Problems(problems: reader.problems)) }
        return .success(
            FlowDraft(
                name: name, description: description, type: type, tenant: tenant, owners: owners, cron: cron, cronTimezone: cronTimezone,
                graph: graph,
                webhooks: webhooks))
    }

    /// Collects problems while it reads typed fields out of JSON.
    struct Reader {
        var problems: [FlowProblem] = []

        /// A string field; absent or null is nil; another JSON type or an over-long value is a problem.
        mutating func text(_ object: [String: JSONValue], _ key: String, path: String, limit: Int) -> String? {
            switch object[key] {
            case nil, .null:
                return nil
            case .string(let value):
                // Counted in Unicode scalars: a grapheme count lets one "character" carry megabytes.
                guard value.unicodeScalars.count <= limit else {
                    self.problems.append(.invalidField(path: path, expected: "a string of at most \(limit) characters"))
                    return nil
                }
                // PostgreSQL text cannot hold NUL, and no flow field needs it.
                guard !value.unicodeScalars.contains("\u{0}") else {
                    self.problems.append(.invalidField(path: path, expected: "a string without NUL characters"))
                    return nil
                }
                return value
            default:
                self.problems.append(.invalidField(path: path, expected: "a string"))
                return nil
            }
        }

        mutating func owners(_ value: JSONValue?) -> [FlowOwner]? {
            guard let value, value != .null else { return nil }
            guard case .array(let items) = value, items.count <= FlowValidator.maximumText.owners else {
                self.problems.append(.invalidField(path: "owners", expected: "an array of at most \(FlowValidator.maximumText.owners) owners"))
                return nil
            }
            var owners: [FlowOwner] = []
            for (index, item) in items.enumerated() {
                guard case .object(let owner) = item else {
                    self.problems.append(.invalidField(path: "owners[\(index)]", expected: "an object"))
                    continue
                }
                let id = self.text(owner, "id", path: "owners[\(index)].id", limit: 64)
                let type = self.text(owner, "type", path: "owners[\(index)].type", limit: 30)
                if id == nil { self.problems.append(.ownerWithoutID(index: index)) }
                if type == nil { self.problems.append(.ownerWithoutType(index: index)) }
                if let type, !FlowValidator.ownerTypes.contains(type) {
                    self.problems.append(.invalidField(path: "owners[\(index)].type", expected: "user or tenant"))
                } else if let id, let type {
                    owners.append(FlowOwner(id: id, type: type))
                }
            }
            return owners
        }

        mutating func webhooks(_ flowSettings: JSONValue?) -> WebhookSettings? {
            guard let flowSettings, flowSettings != .null else { return nil }
            guard case .object(let object) = flowSettings else {
                self.problems.append(.invalidField(path: "flowSettings", expected: "an object"))
                return nil
            }
            guard let value = object["webhooks"], value != .null else { return nil }
            guard case .object(let webhooks) = value else {
                self.problems.append(.invalidField(path: "flowSettings.webhooks", expected: "an object"))
                return nil
            }
            var settings = WebhookSettings()
            switch webhooks["requireWebhookAuth"] {
            case nil, .null: break
            case .bool(let flag): settings.requireWebhookAuth = flag
            default: self.problems.append(.invalidField(path: "flowSettings.webhooks.requireWebhookAuth", expected: "true or false"))
            }
            settings.hmacSecret = self.text(webhooks, "hmacSecret", path: "flowSettings.webhooks.hmacSecret", limit: 256)
            if let secret = settings.hmacSecret, secret.trimmingCharacters(in: .whitespacesAndNewlines).unicodeScalars.count < 16 {
                // An HMAC under a short (or empty) key is one anybody can compute.
                self.problems.append(.invalidField(path: "flowSettings.webhooks.hmacSecret", expected: "a secret of at least 16 characters"))
            }
            settings.hmacHeader = self.text(webhooks, "hmacHeader", path: "flowSettings.webhooks.hmacHeader", limit: 64)
            if let header = settings.hmacHeader, header.isEmpty || !header.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) {
                self.problems.append(.invalidField(path: "flowSettings.webhooks.hmacHeader", expected: "a header name (letters, digits and '-')"))
            }
            settings.hmacAlgorithm = self.text(webhooks, "hmacAlgorithm", path: "flowSettings.webhooks.hmacAlgorithm", limit: 16)?.lowercased()
            if let algorithm = settings.hmacAlgorithm, !FlowValidator.hmacAlgorithms.contains(algorithm) {
                self.problems.append(.invalidField(path: "flowSettings.webhooks.hmacAlgorithm", expected: "one of sha256, sha384, sha512"))
            }
            return settings
        }

        mutating func graph(_ value: JSONValue?) -> FlowGraph? {
            guard let value, value != .null else {
                self.problems.append(.missingGraph)
                return nil
            }
            guard case .object(let graph) = value else {
                self.problems.append(.invalidField(path: "graph", expected: "an object"))
                return nil
            }
            let nodeValues = self.array(graph["nodes"], path: "graph.nodes", limit: FlowValidator.maximumNodes) ?? []
            let edgeValues = self.array(graph["edges"], path: "graph.edges", limit: FlowValidator.maximumEdges) ?? []
            if nodeValues.isEmpty { self.problems.append(.noNodes) }
            var nodes: [FlowNode] = []
            var seen = Set<String>()
            for (index, value) in nodeValues.enumerated() {
                guard case .object(let node) = value else {
                    self.problems.append(.invalidField(path: "graph.nodes[\(index)]", expected: "an object"))
                    continue
                }
                let path = "graph.nodes[\(index)]"
                // OIH reports a node's missing fields in this order.
                let function = self.text(node, "function", path: "\(path).function", limit: FlowValidator.maximumText.function)
                let componentID = self.text(node, "componentId", path: "\(path).componentId", limit: 64)
                let id = self.text(node, "id", path: "\(path).id", limit: Int.max)
                if function == nil && Self.isAbsent(node["function"]) { self.problems.append(.nodeWithoutFunction(index: index)) }
                if componentID == nil && Self.isAbsent(node["componentId"]) { self.problems.append(.nodeWithoutComponentID(index: index)) }
                if id == nil && Self.isAbsent(node["id"]) { self.problems.append(.nodeWithoutID(index: index)) }
                if let id {
                    if id.isEmpty {
                        self.problems.append(.nodeWithoutID(index: index))
                    } else if id.unicodeScalars.count > FlowValidator.maximumNodeIDLength {
                        self.problems.append(.nodeIDTooLong(id))
                    } else if !id.unicodeScalars.allSatisfy(FlowValidator.isNodeIDScalar) || id == "." || id == ".." {
                        self.problems.append(.nodeIDCharacters(id))
                    } else if !seen.insert(id).inserted {
                        self.problems.append(.duplicateNodeID(id))
                    }
                }
                let name = self.text(node, "name", path: "\(path).name", limit: FlowValidator.maximumText.nodeName)
                let description = self.text(node, "description", path: "\(path).description", limit: FlowValidator.maximumText.nodeDescription)
                let credentialsID = self.text(node, "credentials_id", path: "\(path).credentials_id", limit: 64)
                let fields = self.object(node["fields"], path: "\(path).fields")
                let nodeSettings = self.object(node["nodeSettings"], path: "\(path).nodeSettings")
                if let id, let componentID, let function {
                    nodes.append(
                        FlowNode(
                            id: id, componentID: componentID, function: function, name: name, description: description, credentialsID: credentialsID,
                            fields: fields, nodeSettings: nodeSettings))
                }
            }
            if nodeValues.count > 1 && edgeValues.isEmpty { self.problems.append(.edgesRequired) }
            var edges: [FlowEdge] = []
            for (index, value) in edgeValues.enumerated() {
                guard case .object(let edge) = value else {
                    self.problems.append(.invalidField(path: "graph.edges[\(index)]", expected: "an object"))
                    continue
                }
                let path = "graph.edges[\(index)]"
                let id = self.text(edge, "id", path: "\(path).id", limit: 64)
                let source = self.text(edge, "source", path: "\(path).source", limit: 64)
                let target = self.text(edge, "target", path: "\(path).target", limit: 64)
                if source == nil && Self.isAbsent(edge["source"]) { self.problems.append(.edgeWithoutSource(index: index)) }
                if target == nil && Self.isAbsent(edge["target"]) { self.problems.append(.edgeWithoutTarget(index: index)) }
                if let source, !seen.contains(source) { self.problems.append(.unknownEdgeSource(source)) }
                if let target, !seen.contains(target) { self.problems.append(.unknownEdgeTarget(target)) }
                var config: FlowEdge.Config?
                if let configObject = self.object(edge["config"], path: "\(path).config"), case .object(let fields) = configObject {
                    config = FlowEdge.Config(
                        condition: self.text(fields, "condition", path: "\(path).config.condition", limit: 256),
                        mapper: self.freeForm(fields["mapper"], path: "\(path).config.mapper"))
                }
                if let source, let target { edges.append(FlowEdge(id: id, source: source, target: target, config: config)) }
            }
            return FlowGraph(nodes: nodes, edges: edges)
        }

        static func isAbsent(_ value: JSONValue?) -> Bool {
            value == nil || value == .null
        }

        mutating func array(_ value: JSONValue?, path: String, limit: Int) -> [JSONValue]? {
            switch value {
            case nil, .null:
                return nil
            case .array(let items) where items.count <= limit:
                return items
            default:
                self.problems.append(.invalidField(path: path, expected: "an array of at most \(limit) entries"))
                return nil
            }
        }

        mutating func object(_ value: JSONValue?, path: String) -> JSONValue? {
            switch value {
            case nil, .null: return nil
            case .object: return self.freeForm(value, path: path)
            default:
                self.problems.append(.invalidField(path: path, expected: "an object"))
                return nil
            }
        }

        /// JSON the flow keeps as the client wrote it (`fields`, `nodeSettings`, `mapper`), within bounds:
        /// nested at most ``FlowValidator/maximumDepth`` levels (every read of the flow walks it) and
        /// without NUL characters, in keys or values (PostgreSQL text cannot hold them).
        mutating func freeForm(_ value: JSONValue?, path: String) -> JSONValue? {
            guard let value else { return nil }
            var stack: [(JSONValue, Int)] = [(value, 1)]
            while let (next, depth) = stack.popLast() {
                guard depth <= FlowValidator.maximumDepth else {
                    self.problems.append(.invalidField(path: path, expected: "JSON nested at most \(FlowValidator.maximumDepth) levels deep"))
                    return nil
                }
                switch next {
                case .string(let text) where text.unicodeScalars.contains("\u{0}"):
                    self.problems.append(.invalidField(path: path, expected: "JSON without NUL characters"))
                    return nil
                case .array(let items):
                    stack.append(contentsOf: items.map { ($0, depth + 1) })
                case .object(let fields):
                    if fields.keys.contains(where: { $0.unicodeScalars.contains("\u{0}") }) {
                        self.problems.append(.invalidField(path: path, expected: "JSON without NUL characters"))
                        return nil
                    }
                    stack.append(contentsOf: fields.values.map { ($0, depth + 1) })
                default:
                    continue
                }
            }
            return value
        }
    }
}
