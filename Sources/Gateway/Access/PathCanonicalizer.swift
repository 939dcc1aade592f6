public import GatewayKit
public import PortcullisCore

/// Decides whether a request target's path is canonical, before any routing.
///
/// Portcullis does not rewrite paths: a path that could be read two ways (dot segments, empty segments,
/// encoded separators, NUL, bad encodings) is refused with 400, so the path that rules match is exactly
/// the path the module sees.
public enum PathCanonicalizer {
    /// Returns the path part of `target` (without the query) when it is canonical, as a slice of `target`
    /// (the access step only needs the verdict, so nothing is copied for it).
    ///
    /// - Throws: ``APIError`` 400 `INVALID_PATH` naming the rule that was broken.
    public static func canonicalPath(of target: String) throws(APIError) -> Substring {
        let path = Self.pathPart(of: target)
        let bytes = path.utf8
        guard bytes.first == UInt8(ascii: "/") else {
            throw invalid("The request path must start with '/'.")
        }
        // One pass over the bytes, since this runs for every request; the refusals keep their order.
        var emptySegment = false
        var dotSegment = false
        var escaped = false
        var previous: UInt8 = 0
        var segmentLength = 0
        var segmentDots = 0
        for byte in bytes {
            if byte < 0x21 || byte > 0x7E || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "#") {
                throw invalid("The request path contains a character that must be percent-encoded.")
            }
            if byte == UInt8(ascii: "/") {
                if previous == UInt8(ascii: "/") { emptySegment = true }
                if segmentLength > 0, segmentLength <= 2, segmentDots == segmentLength { dotSegment = true }
                segmentLength = 0
                segmentDots = 0
            } else {
                segmentLength += 1
                if byte == UInt8(ascii: ".") { segmentDots += 1 }
                if byte == UInt8(ascii: "%") { escaped = true }
            }
            previous = byte
        }
        if segmentLength > 0, segmentLength <= 2, segmentDots == segmentLength { dotSegment = true }
        if emptySegment {
            throw invalid("The request path contains an empty segment ('//').")
        }
        // Without escapes the path is printable ASCII (checked above): only dot segments are left to refuse.
        if !escaped {
            if dotSegment { throw invalid("The request path contains a '.' or '..' segment.") }
            return path
        }
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            guard let bytes = percentDecode(segment) else {
                throw invalid("The request path contains an invalid percent-encoding.")
            }
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw invalid("The request path is not valid UTF-8.")
            }
            if bytes.contains(0x2F) || bytes.contains(0x5C) {
                throw invalid("The request path contains an encoded '/' or '\\'.")
            }
            if bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                throw invalid("The request path contains NUL or a control character.")
            }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] {
                throw invalid("The request path contains a '.' or '..' segment.")
            }
        }
        return path
    }

    /// The path part of a request target: everything before its first `?` byte, where the query starts
    /// (RFC 3986 §3.4). Split over bytes, so a `?` followed by a combining mark still starts the query.
    public static func pathPart(of target: String) -> Substring {
        let utf8 = target.utf8
        return Substring(utf8[..<(utf8.firstIndex(of: UInt8(ascii: "?")) ?? utf8.endIndex)])
    }

    /// Decodes `%XX` escapes; nil when an escape is malformed.
    static func percentDecode(_ segment: Substring) -> [UInt8]? {
        var result: [UInt8] = []
        var iterator = segment.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                result.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            result.append(high << 4 | low)
        }
        return result
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func invalid(_ message: String) -> APIError {
        .badRequest("INVALID_PATH", message)
    }
}
