import FlowRepository
import Foundation
import PortcullisCore
import Testing

@Suite("Flow validation")
struct FlowValidatorTests {
    static func json(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// The messages for `text`; unless it starts with a name, it gets one, so each case shows only the
    /// problem it is about (a flow needs a name).
    static func problems(_ text: String) throws -> [String] {
        let named = text.hasPrefix("{") && !text.hasPrefix(#"{"name""#) && text != "{}" ? #"{"name":"n","# + text.dropFirst() : text
        switch FlowValidator.validate(try Self.json(named)) {
        case .success: return []
        case .failure(let failure): return failure.problems.map(\.message)
        }
    }

    static let twoNodes = #"""
        {"name":"Snazzy","description":"polls persons","type":"ordinary","cron":"*/5 * * * *","cronTimezone":"Europe/Berlin",
         "graph":{"nodes":[{"id":"step_1","componentId":"c1","function":"getPersons","fields":{"a":1}},
                           {"id":"step_2","componentId":"c2","function":"execute","name":"code"}],
                  "edges":[{"source":"step_1","target":"step_2","config":{"condition":"x > 1","mapper":{"b":"$.a"}}}]},
         "owners":[{"id":"u1","type":"user"}],
         "flowSettings":{"webhooks":{"requireWebhookAuth":true,"hmacSecret":"s3cret-long-enough-1","hmacHeader":"x-hmac","hmacAlgorithm":"SHA256"}}}
        """#

    @Test("a flow needs a name; its type is ordinary unless it says long_running")
    func nameAndType() throws {
        #expect(try Self.problems(#"{"graph":{"nodes":[{"id":"a","componentId":"c","function":"f"}]}}"#).isEmpty)
        let unnamed = FlowValidator.validate(try Self.json(#"{"graph":{"nodes":[{"id":"a","componentId":"c","function":"f"}]}}"#))
        #expect((try? unnamed.get()) == nil)
        if case .failure(let failure) = unnamed { #expect(failure.problems.map(\.message) == ["Flows require a name."]) }
        let typed = try FlowValidator.validate(try Self.json(#"{"name":"x","graph":{"nodes":[{"id":"a","componentId":"c","function":"f"}]}}"#)).get()
        #expect(typed.type == "ordinary")
        #expect(
            try Self.problems(#"{"type":"realtime","graph":{"nodes":[{"id":"a","componentId":"c","function":"f"}]}}"#) == [
                "type must be ordinary or long_running."
            ])
        #expect(
            try Self.problems(#"{"name":"a\u0000b","graph":{"nodes":[{"id":"a\u0000","componentId":"c","function":"f"}]}}"#) == [
                "name must be a string without NUL characters.", "graph.nodes[0].id must be a string without NUL characters.",
            ])
        // Lengths count Unicode scalars: one grapheme of a million combining marks is a million long.
        let heavy = "a" + String(repeating: "\u{0301}", count: 1_000)
        #expect(
            try Self.problems(#"{"name":"\#(heavy)","graph":{"nodes":[{"id":"a","componentId":"c","function":"f"}]}}"#) == [
                "name must be a string of at most 60 characters."
            ])
    }

    @Test("a complete flow is read into typed fields")
    func valid() throws {
        let draft = try FlowValidator.validate(try Self.json(Self.twoNodes)).get()
        #expect(draft.name == "Snazzy")
        #expect(draft.graph.nodes.map(\.id) == ["step_1", "step_2"])
        #expect(draft.graph.nodes[0].componentID == "c1")
        #expect(draft.graph.nodes[0].fields == ["a": 1])
        #expect(draft.graph.edges == [FlowEdge(source: "step_1", target: "step_2", config: .init(condition: "x > 1", mapper: ["b": "$.a"]))])
        #expect(draft.cron == "*/5 * * * *")
        #expect(draft.cronTimezone == "Europe/Berlin")
        #expect(draft.owners == [FlowOwner(id: "u1", type: "user")])
        #expect(
            draft.webhooks
                == WebhookSettings(requireWebhookAuth: true, hmacSecret: "s3cret-long-enough-1", hmacHeader: "x-hmac", hmacAlgorithm: "sha256"))
    }

    @Test("OIH's messages: no graph, no nodes, a node missing everything (function, componentId, id in OIH's order)")
    func oihMessages() throws {
        #expect(try Self.problems(#"{"name":"x"}"#) == ["Flows require a graph."])
        #expect(try Self.problems(#"{"graph":{"nodes":[]}}"#) == ["Flows require at least one node."])
        #expect(
            try Self.problems(#"{"graph":{"nodes":[{"name":"nodeName"}]}}"#) == [
                "Flow nodes require a function.", "Flow nodes require a componentId.", "Flow nodes require an id.",
            ])
        #expect(
            try Self.problems(#"{"graph":{"nodes":[{"id":"a","componentId":"c","function":"f"},{"id":"b","componentId":"c","function":"f"}]}}"#)
                == ["Flows with more than one node require edges."])
    }

    @Test("edges must name known nodes; node ids are unique and at most 30 characters")
    func edgesAndIDs() throws {
        let unknown = #"""
            {"graph":{"nodes":[{"id":"a","componentId":"c","function":"f"},{"id":"b","componentId":"c","function":"f"}],
                      "edges":[{"source":"a","target":"X"},{"source":"Y","target":"b"},{"target":"a"}]}}
            """#
        #expect(
            try Self.problems(unknown) == [
                "Edge target with id \"X\" could not be found among nodes.", "Edge source with id \"Y\" could not be found among nodes.",
                "Flow edges require a source.",
            ])
        let duplicate =
            #"{"graph":{"nodes":[{"id":"a","componentId":"c","function":"f"},{"id":"a","componentId":"c","function":"g"}],"edges":[{"source":"a","target":"a"}]}}"#
        #expect(try Self.problems(duplicate) == ["Flow node ids must be unique: \"a\" is used more than once."])
        let long = String(repeating: "n", count: 31)
        #expect(
            try Self.problems(#"{"graph":{"nodes":[{"id":"\#(long)","componentId":"c","function":"f"}]}}"#).first?.contains("longer than 30") == true)
    }

    @Test("cron through the shared parser, an IANA time zone, and no status set by hand")
    func cronAndStatus() throws {
        let node = #""graph":{"nodes":[{"id":"a","componentId":"c","function":"f"}]}"#
        #expect(try Self.problems(#"{\#(node),"cron":"61 * * * *"}"#) == ["Invalid cron expression."])
        if case .failure(let failure) = FlowValidator.validate(try Self.json(#"{"name":"n",\#(node),"cron":"61 * * * *"}"#)) {
            #expect(failure.problems.map(\.entry.detail) == ["the minute field has '61', not a value in 0-59"])
        } else {
            Issue.record("a bad cron expression was accepted")
        }
        #expect(try Self.problems(#"{\#(node),"cron":"0 0 * * * *"}"#).isEmpty, "six fields with seconds are fine")
        #expect(try Self.problems(#"{\#(node),"cronTimezone":"Mars/Olympus"}"#).first?.hasPrefix("Invalid cron timezone") == true)
        #expect(
            try Self.problems(#"{\#(node),"status":"active"}"#) == [
                "Flow status cannot be set manually. Use the flow start/stop end points instead."
            ])
    }

    @Test("wrong JSON types name the field instead of failing the whole body, and every problem is reported at once")
    func wrongTypes() throws {
        let body = #"""
            {"name":5,"graph":{"nodes":[{"id":1,"componentId":"c","function":"f","fields":[1]}]},"owners":[{"id":"u"}],
             "flowSettings":{"webhooks":{"requireWebhookAuth":"yes","hmacAlgorithm":"md5","hmacHeader":"x hmac"}}}
            """#
        let messages = try Self.problems(body)
        #expect(messages.contains("name must be a string."))
        #expect(messages.contains("graph.nodes[0].id must be a string."))
        #expect(messages.contains("graph.nodes[0].fields must be an object."))
        #expect(messages.contains("Flow owners require a type."))
        #expect(messages.contains("flowSettings.webhooks.requireWebhookAuth must be true or false."))
        #expect(messages.contains("flowSettings.webhooks.hmacAlgorithm must be one of sha256, sha384, sha512."))
        #expect(messages.contains("flowSettings.webhooks.hmacHeader must be a header name (letters, digits and '-')."))
        #expect(messages.count == 7)
        #expect(try Self.problems("[1,2]") == ["A flow must be a JSON object."])
    }

    @Test("too many nodes is refused, not stored")
    func bounds() throws {
        let nodes = (0...FlowValidator.maximumNodes).map { #"{"id":"n\#($0)","componentId":"c","function":"f"}"# }.joined(separator: ",")
        #expect(try Self.problems(#"{"graph":{"nodes":[\#(nodes)]}}"#).first?.hasPrefix("graph.nodes must be an array of at most") == true)
    }
}
