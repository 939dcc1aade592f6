public import PortcullisCore

/// One reason a flow is refused (400), with OIH's message where OIH has one, so that OIH clients that
/// match on messages keep working.
public enum FlowProblem: Sendable, Hashable {
    case notAnObject
    case missingName
    case missingGraph
    case noNodes
    case nodeWithoutID(index: Int)
    case nodeWithoutComponentID(index: Int)
    case nodeWithoutFunction(index: Int)
    case nodeIDTooLong(String)
    case nodeIDCharacters(String)
    case duplicateNodeID(String)
    case edgesRequired
    case edgeWithoutSource(index: Int)
    case edgeWithoutTarget(index: Int)
    case unknownEdgeSource(String)
    case unknownEdgeTarget(String)
    case invalidCron(String)
    case invalidCronTimezone
    case statusSetManually
    case ownerWithoutID(index: Int)
    case ownerWithoutType(index: Int)
    /// A field of the wrong JSON type, or over its length: names the field's path.
    case invalidField(path: String, expected: String)

    /// The stable code of the error entry.
    public var reason: String {
        switch self {
        case .notAnObject: "INVALID_BODY"
        case .missingName: "MISSING_NAME"
        case .missingGraph: "MISSING_GRAPH"
        case .noNodes: "MISSING_NODES"
        case .nodeWithoutID: "MISSING_NODE_ID"
        case .nodeWithoutComponentID: "MISSING_COMPONENT_ID"
        case .nodeWithoutFunction: "MISSING_FUNCTION"
        case .nodeIDTooLong: "NODE_ID_TOO_LONG"
        case .nodeIDCharacters: "INVALID_NODE_ID"
        case .duplicateNodeID: "DUPLICATE_NODE_ID"
        case .edgesRequired: "MISSING_EDGES"
        case .edgeWithoutSource: "MISSING_EDGE_SOURCE"
        case .edgeWithoutTarget: "MISSING_EDGE_TARGET"
        case .unknownEdgeSource: "UNKNOWN_EDGE_SOURCE"
        case .unknownEdgeTarget: "UNKNOWN_EDGE_TARGET"
        case .invalidCron: "INVALID_CRON"
        case .invalidCronTimezone: "INVALID_CRON_TIMEZONE"
        case .statusSetManually: "STATUS_READ_ONLY"
        case .ownerWithoutID: "MISSING_OWNER_ID"
        case .ownerWithoutType: "MISSING_OWNER_TYPE"
        case .invalidField: "INVALID_FIELD"
        }
    }

    /// What exactly was wrong, where the message is OIH's fixed sentence: the cron field and why.
    public var detail: String? {
        if case .invalidCron(let why) = self { return why }
        return nil
    }

    /// The error entry of a 400 answer.
    public var entry: ErrorEntry {
        ErrorEntry(code: 400, message: self.message, reason: self.reason, detail: self.detail)
    }

    /// The sentence for the client.
    public var message: String {
        switch self {
        case .notAnObject: "A flow must be a JSON object."
        case .missingName: "Flows require a name."
        case .missingGraph: "Flows require a graph."
        case .noNodes: "Flows require at least one node."
        case .nodeWithoutID: "Flow nodes require an id."
        case .nodeWithoutComponentID: "Flow nodes require a componentId."
        case .nodeWithoutFunction: "Flow nodes require a function."
        case .nodeIDTooLong(let id): "Flow node id \"\(id.prefix(40))\" is longer than \(FlowValidator.maximumNodeIDLength) characters."
        case .nodeIDCharacters(let id): "Flow node id \"\(id.prefix(40))\" may contain only letters, digits and - . _ ~ : (and is not . or ..)"
        case .duplicateNodeID(let id): "Flow node ids must be unique: \"\(id)\" is used more than once."
        case .edgesRequired: "Flows with more than one node require edges."
        case .edgeWithoutSource: "Flow edges require a source."
        case .edgeWithoutTarget: "Flow edges require a target."
        case .unknownEdgeSource(let id): "Edge source with id \"\(id.prefix(40))\" could not be found among nodes."
        case .unknownEdgeTarget(let id): "Edge target with id \"\(id.prefix(40))\" could not be found among nodes."
        case .invalidCron: "Invalid cron expression."
        case .invalidCronTimezone: "Invalid cron timezone: it must be an IANA time zone name such as Europe/Berlin."
        case .statusSetManually: "Flow status cannot be set manually. Use the flow start/stop end points instead."
        case .ownerWithoutID: "Flow owners require an id."
        case .ownerWithoutType: "Flow owners require a type."
        case .invalidField(let path, let expected): "\(path) must be \(expected)."
        }
    }
}
