import Hummingbird
import PortcullisCore
import Synchronization

/// The encoded answers of one cached version of a flow (``FlowCache``): `GET /flows/{id}` answers
/// the same bytes to every caller who sees the flow, except for the token's client id, shown only to
/// those who may control the flow. So each kind is encoded once (twice at worst, when two requests find
/// it missing together); the entry, and this memo with it, is replaced when the flow changes.
final class FlowAnswerMemo: Sendable {
    private let bodies = Mutex<[Bool: ByteBuffer]>([:])

    /// The JSON body with (`showingToken`) or without the token's client id, encoded by `encode` the
    /// first time.
    func body(showingToken: Bool, _ encode: () throws -> ByteBuffer) rethrows -> ByteBuffer {
        if let body = self.bodies.withLock({ $0[showingToken] }) { return body }
        let body = try encode()
        self.bodies.withLock { $0[showingToken] = body }
        return body
    }

    /// A 200 answer of `body`, with the headers Hummingbird's JSON encoder gives every other answer.
    static func response(_ body: ByteBuffer) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes)],
            body: ResponseBody(byteBuffer: body))
    }
}

/// A flow in an answer, with `flowToken: {clientId}` while it runs, for owners who may control it.
struct FlowAnswer: Encodable, Sendable {
    let flow: Flow
    let tokenClientID: String?

    enum Keys: String, CodingKey { case flowToken }
    enum TokenKeys: String, CodingKey { case clientId }

    func encode(to encoder: any Encoder) throws {
        try self.flow.encode(to: encoder)
        guard let tokenClientID else { return }
        var container = encoder.container(keyedBy: Keys.self)
        var token = container.nestedContainer(keyedBy: TokenKeys.self, forKey: .flowToken)
        try token.encode(tokenClientID, forKey: .clientId)
    }
}

/// One item of a bulk answer: the flow, or `{errors:[...]}`.
enum BulkItem: Encodable, Sendable {
    case flow(FlowAnswer)
    case errors(ErrorEnvelope)

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .flow(let answer): try answer.encode(to: encoder)
        case .errors(let envelope): try envelope.encode(to: encoder)
        }
    }
}

/// A step log page as the answer: OIH's shape, without the `data` envelope of the other answers.
struct StepLogAnswer: ResponseEncodable, Sendable {
    let page: FlowStepLog.Page

    init(_ page: FlowStepLog.Page) {
        self.page = page
    }

    func encode(to encoder: any Encoder) throws {
        try self.page.encode(to: encoder)
    }
}

/// `{data:[...], meta:{}}` for bulk answers (`meta` as in every envelope of the contract).
struct BulkEnvelope: ResponseEncodable, Sendable {
    let data: [BulkItem]
    var meta: [String: Int] = [:]

}
