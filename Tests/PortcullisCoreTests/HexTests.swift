import PortcullisCore
import Testing

@Suite("Hex")
struct HexTests {
    /// Two lower-case digits per byte, by arithmetic rather than the table the code uses.
    static func reference(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 / 16)], digits[Int($0 % 16)]] })
    }

    @Test("contiguous, raw and lazy sequences of bytes give the same lower-case text, every byte value included")
    func encodes() {
        var generator = SystemRandomNumberGenerator()
        let everyByte = (0...255).map { UInt8($0) }
        for bytes in [[], [0], [255], everyByte] + (1...40).map({ count in (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) } }) {
            let expected = Self.reference(bytes)
            #expect(Hex.encode(bytes) == expected)
            #expect(bytes.withUnsafeBytes { Hex.encode(raw: $0) } == expected)
            // No contiguous storage: the fallback path.
            #expect(Hex.encode(bytes.lazy.map { $0 }) == expected)
            #expect(Hex.encode(bytes).utf8.count == 2 * bytes.count)
        }
    }
}
