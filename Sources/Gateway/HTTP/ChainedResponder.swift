public import Hummingbird

/// Runs a fixed list of middleware in order around a final responder.
///
/// This is the gateway's pre-routing pipeline: unlike router middleware, it runs for every request,
/// including those that match no route.
public struct ChainedResponder<Context: RequestContext>: HTTPResponder {
    let middlewares: [any RouterMiddleware<Context>]
    let final: any HTTPResponder<Context>

    public init(middlewares: [any RouterMiddleware<Context>], final: any HTTPResponder<Context>) {
        self.middlewares = middlewares
        self.final = final
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        try await self.respond(from: 0, request: request, context: context)
    }

    private func respond(from index: Int, request: Request, context: Context) async throws -> Response {
        guard index < self.middlewares.count else {
            return try await self.final.respond(to: request, context: context)
        }
        return try await self.middlewares[index].handle(request, context: context) { request, context in
            try await self.respond(from: index + 1, request: request, context: context)
        }
    }
}
