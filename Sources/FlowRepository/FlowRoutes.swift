import Foundation
public import GatewayKit
import Hummingbird
import Policy
import PortcullisCore

/// The HTTP surface of the flow repository (API.md §3, OIH's wire shapes). Each route's permission is
/// the rule of `policies/routes.yaml`; visibility and ownership are the module's, recorded.
public struct FlowRoutes: Sendable {
    let store: FlowStore
    let access: FlowAccess
    let commands: FlowCommands
    let control: FlowControl
    let stepLog: FlowStepLog

    public init(store: FlowStore, access: FlowAccess, commands: FlowCommands, control: FlowControl, stepLog: FlowStepLog) {
        self.stepLog = stepLog
        self.store = store
        self.access = access
        self.commands = commands
        self.control = control
    }

    public func register(on routes: RouteRegistry) {
        routes.read("/flows") { request, context in
            let caller = try Self.caller(context)
            var query = try FlowQueryParser.parse(QueryParameters(request))
            let page = try Pagination(request)
            try await self.access.scope(&query, for: caller)
            let (items, total) = try await self.store.list(query, offset: page.offset, limit: page.size)
            return PageEnvelope(items.map { self.answer($0, for: caller) }, total: total, page: page)
        }
        routes.post("/flows") { request, context in
            let caller = try Self.caller(context)
            switch try await JSONBody.decode(JSONValue.self, from: request, context: context) {
            case .array(let items):
                let outcomes = try await self.commands.create(many: items, by: caller)
                var response = try BulkEnvelope(data: outcomes.map { self.item($0, for: caller) }).response(from: request, context: context)
                response.status = .created
                return response
            case let body:
                let flow = try await self.commands.create(body, by: caller)
                var response = try DataEnvelope(self.answer(flow, for: caller)).response(from: request, context: context)
                response.status = .created
                return response
            }
        }
        routes.patch("/flows/bulk") { request, context in
            let caller = try Self.caller(context)
            guard case .array(let items) = try await JSONBody.decode(JSONValue.self, from: request, context: context) else {
                throw APIError.badRequest("INVALID_BODY", "The body must be an array of partial flows, each with its id.")
            }
            let outcomes = try await self.commands.update(many: items, by: caller)
            return BulkEnvelope(data: outcomes.map { self.item($0, for: caller) })
        }
        routes.read("/flows/{id}") { request, context in
            let caller = try Self.caller(context)
            let read = try await self.access.visibleRead(try Self.id(context), to: caller)
            let answer = self.answer(read.flow, for: caller)
            // Encoded once per cached version of the flow and kind of answer.
            guard let answers = read.answers else { return try DataEnvelope(answer).response(from: request, context: context) }
            let body = try answers.body(showingToken: answer.tokenClientID != nil) {
                ByteBuffer(bytes: try context.responseEncoder.encode(DataEnvelope(answer)))
            }
            return FlowAnswerMemo.response(body)
        }
        routes.patch("/flows/{id}") { request, context in
            let caller = try Self.caller(context)
            let body = try await JSONBody.decode(JSONValue.self, from: request, context: context)
            let flow = try await self.commands.update(try Self.id(context), with: body, by: caller)
            return DataEnvelope(self.answer(flow, for: caller))
        }
        routes.delete("/flows/{id}") { _, context in
            try await self.commands.delete(try Self.id(context), by: try Self.caller(context))
            return ["msg": "Flow was successfully deleted"] as JSONValue
        }
        for command in [FlowControl.Command.start, .stop] {
            routes.post("/flows/{id}/\(command.rawValue)") { _, context in
                DataEnvelope(try await self.control.run(command, on: try Self.id(context), by: try Self.caller(context)))
            }
            routes.post("/flows/multiple/\(command.rawValue)") { request, context in
                let caller = try Self.caller(context)
                guard case .array(let values) = try await JSONBody.decode(JSONValue.self, from: request, context: context) else {
                    throw Self.notAnIDList
                }
                let ids = try values.map { value throws(APIError) -> String in
                    guard case .string(let id) = value else { throw Self.notAnIDList }
                    return id
                }
                return JSONValue.array(try await self.control.run(command, onEach: ids, by: caller).map(Self.commandItem))
            }
        }
        routes.read("/flows/{id}/steps/{stepId}/logs") { request, context in
            let parameters = QueryParameters(request)
            let stepID = context.parameters.get("stepId") ?? ""
            return StepLogAnswer(
                try await self.stepLog.page(
                    flowID: try Self.id(context), stepID: stepID, pageSize: parameters["pageSize"], pageToken: parameters["pageToken"],
                    by: try Self.caller(context)))
        }
        routes.post("/flows/{id}/credentials") { request, context in
            let secret = try await self.control.rotateCredentials(of: try Self.id(context), by: try Self.caller(context))
            var response = try DataEnvelope(secret).response(from: request, context: context)
            response.headers[.cacheControl] = "no-store"
            return response
        }
    }

    static let notAnIDList = APIError.badRequest("INVALID_BODY", "The body must be an array of flow ids.")

    static func caller(_ context: GatewayRequestContext) throws -> FlowCaller {
        FlowCaller(principal: try context.requirePrincipal(), decisions: context.decisions, requestID: context.requestID.value)
    }

    static func id(_ context: GatewayRequestContext) throws -> String {
        guard let id = context.parameters.get("id") else { throw FlowAccess.notFound }
        return id
    }

    /// The flow as the caller sees it: the token's client id only for those who may control the flow.
    func answer(_ flow: Flow, for caller: FlowCaller) -> FlowAnswer {
        let controls = self.access.authorizer.holds(caller.principal, "flows.control")
        return FlowAnswer(flow: flow, tokenClientID: controls ? flow.tokenClientID : nil)
    }

    func item(_ outcome: FlowCommands.Outcome, for caller: FlowCaller) -> BulkItem {
        switch outcome {
        case .flow(let flow): .flow(self.answer(flow, for: caller))
        case .refused(let error): .errors(error.envelope)
        }
    }

    static func commandItem(_ outcome: FlowControl.Outcome) -> JSONValue {
        switch outcome {
        case .changed(let change):
            return ["data": ["id": .string(change.id), "status": .string(change.status.rawValue)]]
        case .refused(let id, let error):
            return [
                "errors": .array(
                    error.entries.map { ["message": .string($0.message), "flowId": .string(id.utf8Prefix(64)), "code": .int(Int64($0.code))] })
            ]
        }
    }
}
