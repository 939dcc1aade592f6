public import Foundation

/// Fresh ids that sort by creation time: UUID version 7 (RFC 9562 §5.7), 48 bits of Unix milliseconds
/// followed by 74 random bits.
///
/// Every row the request path writes (decision records, events, queue messages) is found by such an id
/// in a unique or plain index. With random ids (version 4) each row of a batch lands on its own leaf page
/// of that index, so a 44-row commit rewrites dozens of pages; ids that grow with time all land on the
/// rightmost page. They sort by time to the millisecond (within one millisecond the order is random, and
/// a wall clock stepped back breaks it: nothing may rely on it for more than locality). Measured with the
/// audit table's schema and 200,000 rows in it, on this project's two-core machine: 166 µs per record
/// with random ids, 40 µs with time-ordered ones (README, Performance). The ids stay unguessable (74 random bits) and reveal only their creation time to the
/// millisecond, which the records they name carry anyway.
public enum TimeOrderedID {
    /// A version 7 UUID in its canonical lower-case text, e.g. `0193a1b2-c3d4-7e5f-9a0b-1c2d3e4f5a6b`.
    public static func uuidString(at date: Date = Date()) -> String {
        Self.canonicalText(Self.bytes(milliseconds: Self.milliseconds(date)))
    }

    /// 16 bytes as a UUID's canonical text: lower-case hex in groups of 8-4-4-4-12.
    static func canonicalText(_ bytes: [UInt8]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(Hex.digits[Int(byte >> 4)])
            text.append(Hex.digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The same 128 bits as 32 lower-case hex characters (a dashless UUID, the request id's shape).
    public static func hexString(at date: Date = Date()) -> String {
        Hex.encode(Self.bytes(milliseconds: Self.milliseconds(date)))
    }

    static func milliseconds(_ date: Date) -> Int64 {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded(.down)
        guard !milliseconds.isNaN, milliseconds > 0 else { return 0 }
        return milliseconds < Double(Self.largestTime) ? Int64(milliseconds) : Self.largestTime
    }

    /// The last millisecond 48 bits hold (in the year 10889).
    static let largestTime: Int64 = 0xFFFF_FFFF_FFFF

    /// The 16 bytes: `unix_ts_ms` (48 bits, big-endian), version 7, 12 random bits, variant `10`, 62
    /// random bits. A time before 1970 or past the 48-bit range is clamped.
    static func bytes(milliseconds: Int64) -> [UInt8] {
        let random = RandomBytes.next128()
        let time = UInt64(clamping: min(max(milliseconds, 0), Self.largestTime))
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: time >> (40 - 8 * UInt64(index))) }
        bytes[6] = 0x70 | UInt8(truncatingIfNeeded: random.0 & 0x0F)
        bytes[7] = UInt8(truncatingIfNeeded: random.0 >> 8)
        bytes[8] = 0x80 | UInt8(truncatingIfNeeded: random.1 & 0x3F)
        for index in 9..<16 { bytes[index] = UInt8(truncatingIfNeeded: random.1 >> (8 * UInt64(index - 8))) }
        return bytes
    }
}
