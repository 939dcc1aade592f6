import Foundation
import JWTKit
import Synchronization

/// A JSON decoder for jwt-kit's parser that remembers the last few JWT headers it decoded.
///
/// Every token this gateway issues carries one of a handful of headers (`alg`, `kid`, `typ`), and decoding
/// one into jwt-kit's `JWTHeader` (a dictionary of fields) was a large part of a verification's decoding
/// (README, Performance). Decoding is a pure function of the header's bytes, so a header seen before is
/// answered from a small table of exact byte matches. Claims and every other type go to `base` as before.
/// The table has eight slots, replaced oldest first, for headers of at most 256 bytes: headers made up by
/// a caller can push the issued ones out, which only costs decoding them again.
struct HeaderMemoizingDecoder: JWTJSONDecoder {
    private let base: any JWTJSONDecoder
    private let memo = Memo()

    /// - Parameter base: What decodes (jwt-kit's `defaultForJWT` in the gateway; a counting one in tests).
    init(base: any JWTJSONDecoder = .defaultForJWT) {
        self.base = base
    }

    func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        guard type == JWTHeader.self, data.count <= Self.largestRemembered else { return try self.base.decode(type, from: data) }
        let header: JWTHeader
        if let remembered = self.memo.header(for: data) {
            header = remembered
        } else {
            header = try self.base.decode(JWTHeader.self, from: data)
            self.memo.remember(header, for: data)
        }
        // The guard above proves that T is JWTHeader.
        return header as! T
    }

    /// The gateway's own headers are about 80 bytes; a longer one is decoded every time, so a caller's made-up
    /// headers (up to Hummingbird's 80 KiB header line) never make a lookup compare kilobytes.
    static let largestRemembered = 256

    /// How many headers the table holds (for tests).
    var rememberedCount: Int { self.memo.count }

    /// The table: up to eight (bytes, header) pairs, the oldest replaced first.
    final class Memo: Sendable {
        static let slots = 8
        private let state = Mutex<State>(State())

        struct State {
            var entries: [(bytes: Data, header: JWTHeader)] = []
            /// The slot the next new header replaces once all are used.
            var oldest = 0
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
                    state.entries[state.oldest] = (bytes, header)
                    state.oldest = (state.oldest + 1) % Self.slots
                }
            }
        }

        var count: Int { self.state.withLock { $0.entries.count } }
    }
}
