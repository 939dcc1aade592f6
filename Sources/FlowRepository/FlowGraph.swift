public import PortcullisCore

/// The steps of a flow and the order between them (OIH's `graph`).
public struct FlowGraph: Codable, Sendable, Hashable {
    public var nodes: [FlowNode]
    public var edges: [FlowEdge]

    public init(nodes: [FlowNode], edges: [FlowEdge]) {
        self.nodes = nodes
        self.edges = edges
    }
}

/// One step: a component's function, with its fields. Its `id` names the step's queue.
public struct FlowNode: Codable, Sendable, Hashable {
    public var id: String
    public var componentID: String
    public var function: String
    public var name: String?
    public var description: String?
    public var credentialsID: String?
    public var fields: JSONValue?
    public var nodeSettings: JSONValue?

    public init(
        id: String, componentID: String, function: String, name: String? = nil, description: String? = nil, credentialsID: String? = nil,
        fields: JSONValue? = nil, nodeSettings: JSONValue? = nil
    ) {
        self.id = id
        self.componentID = componentID
        self.function = function
        self.name = name
        self.description = description
        self.credentialsID = credentialsID
        self.fields = fields
        self.nodeSettings = nodeSettings
    }

    /// OIH's wire names: `componentId`, `credentials_id`.
    enum CodingKeys: String, CodingKey {
        case id
        case componentID = "componentId"
        case function, name, description
        case credentialsID = "credentials_id"
        case fields, nodeSettings
    }
}

/// Data passes from `source` to `target`, optionally under a condition and through a mapper.
public struct FlowEdge: Codable, Sendable, Hashable {
    public struct Config: Codable, Sendable, Hashable {
        public var condition: String?
        public var mapper: JSONValue?

        public init(condition: String? = nil, mapper: JSONValue? = nil) {
            self.condition = condition
            self.mapper = mapper
        }
    }

    public var id: String?
    public var source: String
    public var target: String
    public var config: Config?

    public init(id: String? = nil, source: String, target: String, config: Config? = nil) {
        self.id = id
        self.source = source
        self.target = target
        self.config = config
    }
}
