import Foundation

/// The `x-request-id` of a request: a generated one (``generate()``), or the caller's when it is
/// acceptable (``accepting(_:)``).
public struct RequestID: Sendable, Hashable, CustomStringConvertible {
    /// The largest caller-supplied id that is kept (API.md §0).
    public static let maximumLength = 128

    public let value: String

    public var description: String { self.value }

    /// `candidate` as the request's id when it is 1...128 visible ASCII characters (0x21...0x7E); nil when
    /// it is absent or not acceptable.
    public static func accepting(_ candidate: String?) -> RequestID? {
        guard let candidate, Self.isAcceptable(candidate) else { return nil }
        return RequestID(value: candidate)
    }

    private init(value: String) {
        self.value = value
    }

    /// A fresh id: a time-ordered UUID (``TimeOrderedID``) as 32 lower-case hex characters (a dashless
    /// UUID's shape), so that the decision records' request-id index grows at its end. Made for every
    /// request, so without Foundation's string replacing, which cost more than the rest of a probe.
    public static func generate() -> RequestID {
        RequestID(value: TimeOrderedID.hexString())
    }

    /// Whether a caller-supplied id may be echoed back and logged as is.
    public static func isAcceptable(_ candidate: String) -> Bool {
        let scalars = candidate.unicodeScalars
        guard !scalars.isEmpty, scalars.count <= maximumLength else { return false }
        return scalars.allSatisfy { $0.value >= 0x21 && $0.value <= 0x7E }
    }
}
