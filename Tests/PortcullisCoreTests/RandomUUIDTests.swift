import Foundation
import Testing

@testable import PortcullisCore

@Suite("Random UUIDs (version 4)")
struct RandomUUIDTests {
    @Test("the text is a lower-case version 4, RFC 9562 variant UUID that Foundation parses; 1,000 are distinct and vary in every random bit")
    func layoutAndRandomness() throws {
        let texts = (0..<1000).map { _ in RandomUUID.string() }
        #expect(Set(texts).count == texts.count)
        var ones = [UInt8](repeating: 0, count: 16)
        var zeros = [UInt8](repeating: 0xFF, count: 16)
        for text in texts {
            let uuid = try #require(UUID(uuidString: text))
            #expect(uuid.uuidString.lowercased() == text)
            let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4, "version 4")
            #expect(bytes[8] >> 6 == 0b10, "variant 10")
            for index in 0..<16 {
                ones[index] |= bytes[index]
                zeros[index] &= bytes[index]
            }
        }
        // 122 random bits: all but the version nibble and the two variant bits were 1 and 0 at least once.
        let fixedMask: [UInt8] = [0, 0, 0, 0, 0, 0, 0xF0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0]
        for index in 0..<16 {
            #expect(ones[index] | fixedMask[index] == 0xFF, "every random bit of byte \(index) was 1 at least once")
            #expect(zeros[index] & ~fixedMask[index] == 0, "every random bit of byte \(index) was 0 at least once")
        }
    }
}
