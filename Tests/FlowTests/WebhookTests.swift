import Crypto
import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import Messaging
import NIOCore
import PortcullisCore
import Storage
import TestSupport
import Testing
import Webhooks

@Suite("Webhooks")
struct WebhookTests {
    /// A started flow of alice's (tenant t1) with `settings`, once its webhook receives; and a flow token.
    static func hookFlow(_ env: IdentityEnvironment, settings: JSONValue? = nil, extra: [String: JSONValue] = [:], alice: String? = nil)
        async throws -> (id: String, alice: String, flowToken: String)
    {
        let owner: String
        if let alice { owner = alice } else { owner = try await env.user("alice", tenant: "t1").token }
        var fields = extra
        if let settings { fields["flowSettings"] = ["webhooks": settings] }
        let id = try #require(try await env.createFlow(FlowFixtures.flow(extra: fields), token: owner)["id"]?.stringValue)
        #expect(try await env.call(.post, "/flows/\(id)/start", token: owner).status == .ok)
        #expect(try await env.flowStatus(id, becomes: "active", token: owner) != nil)
        let credentials = try await env.call(.post, "/flows/\(id)/credentials", token: owner).json?["data"]
        let issued = try await FlowLifecycleTests.token(
            env, clientID: try #require(credentials?["clientId"]?.stringValue), secret: try #require(credentials?["clientSecret"]?.stringValue))
        let token = try #require(issued.json?["access_token"]?.stringValue)
        // The webhooks module opens the flow when its own consumer has seen flow.started (never for a cron flow).
        if extra["cron"] == nil {
            #expect(try await eventually { try await Self.raw(env, .head, "/hook/\(id)").status != .notFound })
        }
        return (id, owner, token)
    }

    static func raw(
        _ env: IdentityEnvironment, _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil
    ) async throws -> TestResponse {
        try await env.client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    /// The messages on the flow's first node, leased and acked (so that a slow run's expired lease never
    /// brings an earlier message back into a later check).
    static func lease(_ env: IdentityEnvironment, _ id: String, token: String) async throws -> [JSONValue] {
        let leased =
            try await env.call(.post, FlowQueueTests.path(id, "step_1", "/lease"), token: token, json: ["max": 100]).json?["data"]?
            .arrayValue ?? []
        for item in leased {
            let messageID = item["messageId"]?.stringValue ?? ""
            _ = try await env.call(
                .post, FlowQueueTests.path(id, "step_1", "/\(messageID)/ack"), token: token, json: ["leaseId": item["leaseId"] ?? .null])
        }
        return leased.compactMap { $0["message"] }
    }

    @Test(
        "nothing checked under one run reaches the next: a lease waiting through a restart, a webhook view a run behind", arguments: Backend.allCases)
    func runsStayApart(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (id, alice, oldToken) = try await Self.hookFlow(env)
            // A component's lease waits while the flow is stopped and started again.
            let leaseStarted = ContinuousClock.now
            async let waiting = env.call(.post, FlowQueueTests.path(id, "step_1", "/lease"), token: oldToken, json: ["waitSeconds": 20])
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await env.call(.post, "/flows/\(id)/stop", token: alice).status == .ok)
            #expect(try await env.flowStatus(id, becomes: "inactive", token: alice) != nil)
            #expect(try await env.call(.post, "/flows/\(id)/start", token: alice).status == .ok)
            #expect(try await env.flowStatus(id, becomes: "active", token: alice) != nil)
            #expect(try await eventually { try await Self.raw(env, .head, "/hook/\(id)").status == .ok })
            let posted = try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/json"], body: #"{"run":"next"}"#)
            #expect(posted.status == .ok)
            // Still within the lease's 20 s wait, unless the machine is so loaded that the restart took longer.
            let postedInTime = leaseStarted.duration(to: .now) < .seconds(19)
            // The old run's lease does not get the next run's message; the next run's token does.
            let old = try await waiting
            if postedInTime {
                #expect(old.status == .notFound, "\(old.bodyText)")
            } else {
                // The wait may have ended before the next run began: refused or empty, never the next run's message.
                #expect(old.status == .notFound || (old.status == .ok && old.json?["data"]?.arrayValue?.isEmpty == true), "\(old.bodyText)")
            }
            let credentials = try await env.call(.post, "/flows/\(id)/credentials", token: alice).json?["data"]
            let issued = try await FlowLifecycleTests.token(
                env, clientID: try #require(credentials?["clientId"]?.stringValue), secret: try #require(credentials?["clientSecret"]?.stringValue))
            let newToken = try #require(issued.json?["access_token"]?.stringValue)
            #expect(try await Self.lease(env, id, token: newToken).map { $0["data"] } == [["run": "next"]])

            // The webhooks module one run behind the orchestrator (its consumer late): the queues now belong to a
            // later run, so a call checked under the settings it has is refused, not put into that run.
            try await env.database.execute("UPDATE bus_queues SET round = round + 2 WHERE queue LIKE \("flow-\(id):%")")
            let behind = try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/json"], body: #"{"run":"stale"}"#)
            #expect(behind.status == .notFound)
            #expect(behind.errorReason == "FLOW_NOT_ACTIVE")
            try await env.database.execute("UPDATE bus_queues SET round = round - 2 WHERE queue LIKE \("flow-\(id):%")")
            #expect(try await Self.lease(env, id, token: newToken).isEmpty)
        }
    }

    @Test("GET and HEAD carry no body; XML with a tag of too many attributes, or closing the wrapper, is refused", arguments: Backend.allCases)
    func bodiesThatLie(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (id, _, token) = try await Self.hookFlow(env)
            let get = try await Self.raw(env, .get, "/hook/\(id)?forged=1", headers: [.contentType: "application/json"], body: #"{"x":1}"#)
            #expect(get.status == .badRequest)
            #expect(get.errorReason == "INVALID_BODY")
            let xml: HTTPFields = [.contentType: "application/xml"]
            let attributes = (0..<300).map { "a\($0)=\"\"" }.joined(separator: " ")
            let wide = try await Self.raw(env, .post, "/hook/\(id)", headers: xml, body: "<r \(attributes)/>")
            #expect(wide.status == .badRequest)
            #expect(wide.messages.first?.contains("more than 256 attributes") == true)
            // 256 are fine, and '=' inside values, comments or CDATA is not counted.
            let fine = (0..<256).map { "a\($0)=\"x=y\"" }.joined(separator: " ")
            let ok = try await Self.raw(env, .post, "/hook/\(id)", headers: xml, body: "<r \(fine)><!-- a=b c=d --><![CDATA[e=f]]></r>")
            #expect(ok.status == .ok)
            let escape = try await Self.raw(env, .post, "/hook/\(id)", headers: xml, body: "<a/></portcullis-xml-body><portcullis-xml-body><b/>")
            #expect(escape.status == .badRequest)
            #expect(try await Self.lease(env, id, token: token).count == 1, "only the well-formed body was enqueued")
        }
    }

    @Test("a POSTed JSON body is the exact message on the first node's queue, without credentials in its headers", arguments: Backend.allCases)
    func postJSON(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let (id, _, token) = try await Self.hookFlow(env)
            let response = try await Self.raw(
                env, .post, "/hook/\(id)/orders?source=shop",
                headers: [
                    .contentType: "application/json", .cookie: "session=secret", HTTPField.Name("x-request-id")!: "hook-\(backend)",
                    HTTPField.Name("x-custom")!: "kept",
                ],
                body: #"{"hello":"world","n":[1,2]}"#)
            #expect(response.status == .ok)
            #expect(response.json == ["data": ["requestId": .string("hook-\(backend)"), "message": "thank you"], "meta": [:]])
            let messages = try await Self.lease(env, id, token: token)
            #expect(messages.count == 1)
            let message = try #require(messages.first)
            #expect(message["data"] == ["hello": "world", "n": [1, 2]])
            #expect(message["metadata"] == ["source": ["name": "webhooks", "type": "webhook", "externalExecId": .string("hook-\(backend)")]])
            #expect(message["method"] == "POST")
            #expect(message["url"] == .string("/hook/\(id)/orders?source=shop"))
            #expect(message["query"] == ["source": "shop"])
            #expect(message["pathSuffix"] == "orders")
            #expect(message["params"] == [:])
            #expect(message["attachments"] == [:])
            #expect(message["headers"]?["x-custom"] == "kept")
            #expect(message["headers"]?["cookie"] == nil)
            #expect(message["headers"]?["authorization"] == nil)
            #expect(message["id"]?.stringValue?.isEmpty == false)
            _ = try await env.resourceDecisions(of: "hook-\(backend)", outcome: "allow", reason: "OPEN_WEBHOOK", admin: admin)

            // GET: the query is the data. HEAD: 200 and nothing enqueued.
            #expect(try await Self.raw(env, .get, "/hook/\(id)?a=1&b=two%20words").status == .ok)
            #expect(try await Self.lease(env, id, token: token).first?["data"] == ["a": "1", "b": "two words"])
            let head = try await Self.raw(env, .head, "/hook/\(id)")
            #expect(head.status == .ok)
            #expect(
                try await env.messaging.queues.depth(FlowQueueNames.messages(flowID: id, nodeID: "step_1")) == 0,
                "both earlier messages were acked; HEAD added none")
        }
    }

    @Test("unknown, inactive, stopped and cron flows are 404 with the contract's message; 415 and 413", arguments: Backend.allCases)
    func refusals(backend: Backend) async throws {
        try await withIdentityGateway(backend, configure: { $0.maxBodyBytes = 4096 }) { env in
            let (id, alice, _) = try await Self.hookFlow(env)
            let idle = try #require(try await env.createFlow(token: alice)["id"]?.stringValue)
            let cron = try await Self.hookFlow(env, extra: ["cron": "*/5 * * * *"], alice: alice).id
            for flow in ["aaaaaaaaaaaaaaaaaaaaaaaa", idle, cron, "not-an-id"] {
                let response = try await Self.raw(env, .post, "/hook/\(flow)", headers: [.contentType: "application/json"], body: "{}")
                #expect(response.status == .notFound, "\(flow)")
                #expect(response.json?["errors"]?.arrayValue?.first?["message"] == .string("Flow \(flow) either does not exist or is inactive."))
                #expect(try await Self.raw(env, .get, "/hook/\(flow)").status == .notFound)
            }
            #expect(try await Self.raw(env, .post, "/hook/\(id)", body: "{}").status == .unsupportedMediaType)
            let big = try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "text/plain"], body: String(repeating: "x", count: 5000))
            #expect(big.status == .contentTooLarge)
            // Stopped: 404 again.
            #expect(try await env.call(.post, "/flows/\(id)/stop", token: alice).status == .ok)
            #expect(try await env.flowStatus(id, becomes: "inactive", token: alice) != nil)
            #expect(try await eventually { try await Self.raw(env, .get, "/hook/\(id)").status == .notFound })
        }
    }

    @Test("XML, urlencoded, text and other bodies; XML with a DTD is refused", arguments: Backend.allCases)
    func bodies(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (id, _, token) = try await Self.hookFlow(env)
            let xml = #"<?xml version="1.0"?><order id="7"><item>a</item><item>b</item><note>x &amp; y</note></order>"#
            #expect(try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/xml"], body: xml).status == .ok)
            #expect(try await Self.lease(env, id, token: token).first?["data"] == ["order": ["@id": "7", "item": ["a", "b"], "note": "x & y"]])
            #expect(
                try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/x-www-form-urlencoded"], body: "a=1&b=x+y%21")
                    .status == .ok)
            #expect(try await Self.lease(env, id, token: token).first?["data"] == ["a": "1", "b": "x y!"])
            #expect(
                try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "text/plain; charset=utf-8"], body: "plain words").status == .ok
            )
            #expect(try await Self.lease(env, id, token: token).first?["data"] == "plain words")
            #expect(
                try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/octet-stream"], body: "\u{1}\u{2}").status == .ok)
            let attachment = try await Self.lease(env, id, token: token).first?["attachments"]?["body"]
            #expect(attachment == ["contentType": "application/octet-stream", "size": 2, "content": .string(Data([1, 2]).base64EncodedString())])

            let laughs = #"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>"#
            let refused = try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "text/xml"], body: laughs)
            #expect(refused.status == .badRequest)
            let external = #"<?xml version="1.0"?><!doctype x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>"#
            #expect(try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/xml"], body: external).status == .badRequest)
            #expect(
                try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/xml"], body: "<a><b></a>").status == .badRequest)
            #expect(try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/json"], body: "{").status == .badRequest)
            #expect(try await Self.lease(env, id, token: token).isEmpty)
            // A declaration behind 70 KB of comment, and one in lower case, are found too.
            let padded = "<?xml version=\"1.0\"?><!--" + String(repeating: "x", count: 70_000) + "--><!DOCTYPE a [<!ENTITY e \"e\">]><a>&e;</a>"
            #expect(try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/xml"], body: padded).status == .badRequest)
            #expect(
                try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/xml"], body: "<!doctype a><a/>").status
                    == .badRequest)
            // Many siblings are read in linear time, up to a bound.
            let wide = "<list>" + String(repeating: "<i>1</i>", count: 50_000) + "</list>"
            #expect(try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/xml"], body: wide).status == .ok)
            #expect(try await Self.lease(env, id, token: token).first?["data"]?["list"]?["i"]?.arrayValue?.count == 50_000)
            // One root, nothing after it.
            for body in ["<a/><b/>", "<a>1</a>\n<a>2</a>", "<a/>junk", "junk<a/>"] {
                #expect(
                    try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/xml"], body: body).status == .badRequest,
                    "\(body)")
            }
            #expect(
                try await Self.raw(
                    env, .post, "/hook/\(id)", headers: [.contentType: "application/xml"],
                    body: "<?xml version=\"1.0\"?>\n<a x=\"1\"/>\n<!-- done -->\n"
                ).status == .ok)
            #expect(try await Self.lease(env, id, token: token).first?["data"] == ["a": ["@x": "1"]])
            let tooWide = "<list>" + String(repeating: "<i/>", count: 100_001) + "</list>"
            #expect(try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/xml"], body: tooWide).status == .badRequest)
        }
    }

    @Test("the webhook view waits for flow.starting when flow.started overtakes it, and a stop of a later round wins", arguments: Backend.allCases)
    func ordering(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let flows = try #require(env.modules.compactMap { $0 as? WebhookModule }.first?.flows)
            let flow: JSONValue = [
                "id": "abababababababababababab", "lifecycleVersion": 1, "owners": [],
                "graph": ["nodes": [["id": "a", "componentId": "c", "function": "f"]], "edges": []],
            ]
            @Sendable func publish(_ name: String, _ payload: JSONValue) async throws {
                try await env.messaging.bus.publish(try Event(name: name, serviceName: "test", payload: payload, now: Date()))
            }
            // Started first (another replica was quicker), then starting: open once both are in.
            try await publish("flow.started", ["id": "abababababababababababab", "lifecycleVersion": 1])
            try await publish("flow.starting", flow)
            #expect(try await eventually { try await flows.find("abababababababababababab")?.state == .active })
            // A stop of round 2, then a late start of round 1: stays stopped.
            guard case .object(var other) = flow else { return }
            other["id"] = "cdcdcdcdcdcdcdcdcdcdcdcd"
            try await publish("flow.stopping", ["id": "cdcdcdcdcdcdcdcdcdcdcdcd", "lifecycleVersion": 2])
            try await publish("flow.starting", .object(other))
            try await publish("flow.started", ["id": "cdcdcdcdcdcdcdcdcdcdcdcd", "lifecycleVersion": 1])
            try await publish("flow.stopping", ["id": "abababababababababababab", "lifecycleVersion": 2])
            #expect(try await eventually { try await flows.find("abababababababababababab")?.state == .stopped })
            #expect(try await flows.find("cdcdcdcdcdcdcdcdcdcdcdcd")?.state == .stopped)
            #expect(try await Self.raw(env, .get, "/hook/cdcdcdcdcdcdcdcdcdcdcdcd").status == .notFound)
        }
    }

    @Test("HMAC in hex or base64 over the raw body, for GET and POST alike; the HMAC header is not forwarded", arguments: Backend.allCases)
    func hmac(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let secret = "hook-secret-long-1"
            let (id, _, token) = try await Self.hookFlow(env, settings: ["hmacSecret": .string(secret), "hmacHeader": "X-Signature"])
            let body = #"{"amount":12}"#
            let code = Array(HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8))))
            let hex = code.map { String(format: "%02x", $0) }.joined()
            let base64 = Data(code).base64EncodedString()
            let signature = HTTPField.Name("x-signature")!
            for value in [hex, base64, "sha256=\(hex)"] {
                let response = try await Self.raw(
                    env, .post, "/hook/\(id)", headers: [.contentType: "application/json", signature: value], body: body)
                #expect(response.status == .ok, "\(value)")
            }
            let messages = try await Self.lease(env, id, token: token)
            #expect(messages.count == 3)
            #expect(messages.allSatisfy { $0["headers"]?["x-signature"] == nil })
            let wrong = try await Self.raw(
                env, .post, "/hook/\(id)",
                headers: [.contentType: "application/json", signature: hex, HTTPField.Name("x-request-id")!: "hmac-bad-\(backend)"],
                body: #"{"amount":13}"#)
            #expect(wrong.status == .unauthorized)
            _ = try await env.resourceDecisions(of: "hmac-bad-\(backend)", outcome: "deny", reason: "HMAC_INVALID", admin: admin)
            #expect(try await Self.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/json"], body: body).status == .unauthorized)
            // GET is checked the same way: the HMAC covers the empty body.
            #expect(try await Self.raw(env, .get, "/hook/\(id)?a=1").status == .unauthorized)
            let empty = Array(HMAC<SHA256>.authenticationCode(for: Data(), using: SymmetricKey(data: Data(secret.utf8))))
            #expect(try await Self.raw(env, .get, "/hook/\(id)?a=1", headers: [signature: Data(empty).base64EncodedString()]).status == .ok)
            #expect(try await Self.lease(env, id, token: token).count == 1)
        }
    }

    @Test("bearer webhooks: 401 without a token, 403 without webhooks.execute, 404 for another tenant", arguments: Backend.allCases)
    func bearer(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (id, alice, token) = try await Self.hookFlow(env, settings: ["requireWebhookAuth": true])
            let json: HTTPFields = [.contentType: "application/json"]
            #expect(try await Self.raw(env, .post, "/hook/\(id)", headers: json, body: "{}").status == .unauthorized)
            var withAlice = json
            withAlice[.authorization] = "Bearer \(alice)"
            #expect(try await Self.raw(env, .post, "/hook/\(id)", headers: withAlice, body: "{}").status == .forbidden)
            let caller = try await env.user("caller", tenant: "t1", roles: [], permissions: ["webhooks.execute"])
            var withCaller = json
            withCaller[.authorization] = "Bearer \(caller.token)"
            #expect(try await Self.raw(env, .post, "/hook/\(id)", headers: withCaller, body: #"{"x":1}"#).status == .ok)
            #expect(try await Self.raw(env, .get, "/hook/\(id)", headers: [.authorization: "Bearer \(caller.token)"]).status == .ok)
            #expect(try await Self.raw(env, .get, "/hook/\(id)").status == .unauthorized)
            let outsider = try await env.user("outsider", tenant: "t2", roles: [], permissions: ["webhooks.execute"])
            var withOutsider = json
            withOutsider[.authorization] = "Bearer \(outsider.token)"
            #expect(try await Self.raw(env, .post, "/hook/\(id)", headers: withOutsider, body: "{}").status == .notFound)
            #expect(
                try await Self.raw(
                    env, .post, "/hook/\(id)", headers: [.contentType: "application/json", .authorization: "Bearer forged"], body: "{}"
                ).status == .unauthorized)
            let messages = try await Self.lease(env, id, token: token)
            #expect(messages.count == 2)
            #expect(messages.allSatisfy { $0["headers"]?["authorization"] == nil })
        }
    }
}
