/// Lower-case hexadecimal text of bytes (digests, MACs), and its comparison in constant time.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        if let text = bytes.withContiguousStorageIfAvailable({ Self.encode(raw: UnsafeRawBufferPointer($0)) }) { return text }
        return Self.encode(raw: Array(bytes))
    }

    /// The hex text of `bytes` (a digest's or a MAC's `withUnsafeBytes`), written in place in one pass:
    /// digests and MACs are hexed several times on every request's path (token hashes, the chain's MACs).
    public static func encode(raw bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { text in
            Self.digits.withUnsafeBufferPointer { digits in
                for (index, byte) in bytes.enumerated() {
                    text[2 * index] = digits[Int(byte >> 4)]
                    text[2 * index + 1] = digits[Int(byte & 0x0f)]
                }
            }
            return bytes.count * 2
        }
    }

    private static func encode(raw bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { Self.encode(raw: $0) }
    }

    /// The lower-case digits, `0`-`f`, as UTF-8 bytes.
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Whether `lhs` and `rhs` are equal, in time that depends only on their lengths: for comparing
    /// secrets, MACs and hashes an attacker may probe.
    public static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
