import Foundation
import JWTKit
import Synchronization

/// jwt-kit's JSON decoder for tokens (`defaultForJWT`), remembering the last few JWT headers it decoded.
///
/// Every token this gateway issues carries one of a handful of headers (`alg`, `kid`, `typ`), and decoding
/// one into jwt-kit's `JWTHeader` cost about a fifth of a verification (J1's profile). Decoding is a pure
/// function of the header's bytes, so a header seen before is answered from a small table of exact byte
/// matches. Claims and everything else go to the decoder as before. The table has eight slots replaced
/// in turn: headers made up by a caller can push the issued ones out, which only costs a decode again.
struct HeaderMemoizingDecoder: JWTJSONDecoder {
    private let base: any JWTJSONDecoder = .defaultForJWT
    private let memo = Memo()

    func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        guard type == JWTHeader.self else { return try self.base.decode(type, from: data) }
        if let header = self.memo.header(for: data) as? T { return header }
        let header = try self.base.decode(JWTHeader.self, from: data)
        self.memo.remember(header, for: data)
        guard let decoded = header as? T else { return try self.base.decode(type, from: data) }
        return decoded
    }

    /// How many headers the table holds (for tests).
    var rememberedCount: Int { self.memo.count }

    /// The table: eight (bytes, header) pairs, the oldest replaced first.
    final class Memo: Sendable {
        static let slots = 8
        private let state = Mutex<State>(State())

        struct State {
            var entries: [(bytes: Data, header: JWTHeader)] = []
            var next = 0
        }

        func header(for bytes: Data) -> JWTHeader? {
            self.state.withLock { state in state.entries.first { $0.bytes == bytes }?.header }
        }

        func remember(_ header: JWTHeader, for bytes: Data) {
            self.state.withLock { state in
                guard !state.entries.contains(where: { $0.bytes == bytes }) else { return }
                if state.entries.count < Self.slots {
                    state.entries.append((bytes, header))
                } else {
                    state.entries[state.next] = (bytes, header)
                    state.next = (state.next + 1) % Self.slots
                }
            }
        }

        var count: Int { self.state.withLock { $0.entries.count } }
    }
}
