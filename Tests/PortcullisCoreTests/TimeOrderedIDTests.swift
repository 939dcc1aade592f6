import Foundation
import Testing

@testable import PortcullisCore

@Suite("Time-ordered ids (UUID version 7)")
struct TimeOrderedIDTests {
    @Test("the text is a version 7, RFC 9562 variant UUID that Foundation parses, its first 48 bits the milliseconds")
    func layout() throws {
        let date = Date(timeIntervalSince1970: 1_764_681_600.123)  // 2025-12-02T13:20:00.123Z
        let text = TimeOrderedID.uuidString(at: date)
        let uuid = try #require(UUID(uuidString: text))
        #expect(uuid.uuidString.lowercased() == text)
        let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
        let milliseconds = bytes[0..<6].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        #expect(milliseconds == 1_764_681_600_123)
        #expect(String(text.prefix(13)) == "019adf38-4c7b", "the time in big-endian hex: 0x019adf384c7b")
    }

    @Test("over 1,000 ids every one of the 74 random bits varies, and the time, version and variant bits never do")
    func randomAndFixedBits() {
        let ids = (0..<1000).map { _ in TimeOrderedID.bytes(milliseconds: 0x0123_4567_89AB) }
        var ones = [UInt8](repeating: 0, count: 16)
        var zeros = [UInt8](repeating: 0xFF, count: 16)
        for id in ids {
            for index in 0..<16 {
                ones[index] |= id[index]
                zeros[index] &= id[index]
            }
        }
        // The fixed bits: 48 of time, the version nibble 0111, the variant 10. Every other bit is random.
        let fixedMask: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0, 0x00, 0xC0, 0, 0, 0, 0, 0, 0, 0]
        let fixedValue: [UInt8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0x70, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0]
        for index in 0..<16 {
            #expect(ones[index] & fixedMask[index] == fixedValue[index], "fixed bits of byte \(index) set as specified")
            #expect(zeros[index] & fixedMask[index] == fixedValue[index], "fixed bits of byte \(index) cleared as specified")
            #expect(ones[index] | fixedMask[index] == 0xFF, "every random bit of byte \(index) was 1 at least once")
            #expect(zeros[index] & ~fixedMask[index] == 0, "every random bit of byte \(index) was 0 at least once")
        }
        let randomBits = fixedMask.reduce(0) { $0 + 8 - $1.nonzeroBitCount }
        #expect(randomBits == 74)
    }

    @Test("later milliseconds sort later, as text and as hex; ids of one millisecond differ")
    func ordering() {
        let start: Int64 = 1_764_681_600_000
        let hexes = (0..<200).map { Hex.encode(TimeOrderedID.bytes(milliseconds: start + $0)) }
        #expect(hexes == hexes.sorted())
        #expect(Set(hexes.map { $0.prefix(12) }).count == 200)
        let dates = (0..<200).map { Date(timeIntervalSince1970: Double(start + 2 * $0) / 1000) }
        let texts = dates.map { TimeOrderedID.uuidString(at: $0) }
        #expect(texts == texts.sorted(), "2 ms apart: later, whatever the floating point rounding of one millisecond")
        #expect(dates.map { TimeOrderedID.hexString(at: $0) }.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
        let sameMillisecond = (0..<1000).map { _ in TimeOrderedID.uuidString(at: dates[0]) }
        #expect(Set(sameMillisecond).count == 1000, "74 random bits tell ids of one millisecond apart")
    }

    @Test("times before 1970 and past the 48-bit range are clamped, never a crash")
    func clamped() {
        #expect(TimeOrderedID.hexString(at: Date(timeIntervalSince1970: -5)).hasPrefix("000000000000"))
        #expect(TimeOrderedID.hexString(at: Date(timeIntervalSince1970: 1e15)).hasPrefix("ffffffffffff"))
        #expect(TimeOrderedID.hexString(at: Date(timeIntervalSince1970: .nan)).hasPrefix("000000000000"))
        #expect(TimeOrderedID.hexString(at: Date(timeIntervalSince1970: .infinity)).hasPrefix("ffffffffffff"))
    }

    @Test("request ids and decision record ids are time-ordered: their first 48 bits are the time they were made")
    func used() {
        let before = TimeOrderedID.milliseconds(Date())
        let requestID = RequestID.generate().value
        let after = TimeOrderedID.milliseconds(Date())
        let made = Int64(requestID.prefix(12), radix: 16) ?? -1
        #expect(made >= before && made <= after)
        #expect(Array(requestID)[12] == "7", "version 7")
        let record = PreparedRecord.decision(
            at: Date(timeIntervalSince1970: 1_764_681_600.123), requestID: "r", stage: "route", outcome: "allow", reason: "ALLOWED",
            permission: nil, rule: nil, policyRevision: nil, actor: AuditActor(nil),
            resource: AuditResource(method: "GET", path: "/"), client: AuditClient(ip: "127.0.0.1", userAgent: nil))
        #expect(record.id.hasPrefix("019adf38-4c7b-7"))
    }
}
