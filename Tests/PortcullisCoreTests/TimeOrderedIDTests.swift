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
        #expect(bytes[6] >> 4 == 7, "version 7")
        #expect(bytes[8] >> 6 == 0b10, "the RFC 9562 variant")
        let milliseconds = bytes[0..<6].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        #expect(milliseconds == 1_764_681_600_123)
        #expect(String(text.prefix(13)) == "019adf38-4c7b", "the time in big-endian hex: 0x019adf384c7b")
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
    }

    @Test("request ids and decision record ids are time-ordered")
    func used() {
        let before = TimeOrderedID.hexString(at: Date().addingTimeInterval(-1))
        #expect(RequestID.generate().value > before)
        let record = PreparedRecord.decision(
            at: Date(timeIntervalSince1970: 1_764_681_600.123), requestID: "r", stage: "route", outcome: "allow", reason: "ALLOWED",
            permission: nil, rule: nil, policyRevision: nil, actor: AuditActor(nil),
            resource: AuditResource(method: "GET", path: "/"), client: AuditClient(ip: "127.0.0.1", userAgent: nil))
        #expect(record.id.hasPrefix("019adf38-4c7b-7"))
    }
}
