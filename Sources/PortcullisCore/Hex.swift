/// Lower-case hexadecimal text of bytes (digests, MACs), and its comparison in constant time.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(Self.digits[Int(byte >> 4)])
            text.append(Self.digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
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
