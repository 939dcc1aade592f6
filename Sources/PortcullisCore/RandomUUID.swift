/// Random UUIDs (version 4, RFC 9562 §5.4) in canonical lower-case text, from ``RandomBytes``' pool.
///
/// Foundation's `UUID()` opens, reads and closes the random device on every call on Linux: when the
/// scheduler fired 10,000 flows at once, that was 10 % of the CPU it spent.
public enum RandomUUID {
    /// A fresh version 4 UUID, e.g. `0f8fad5b-d9cb-469f-a165-70867728950e`.
    public static func string() -> String {
        let random = RandomBytes.next128()
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            bytes[index] = UInt8(truncatingIfNeeded: random.0 >> (8 * UInt64(index)))
            bytes[index + 8] = UInt8(truncatingIfNeeded: random.1 >> (8 * UInt64(index)))
        }
        bytes[6] = 0x40 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return TimeOrderedID.canonicalText(bytes)
    }
}
