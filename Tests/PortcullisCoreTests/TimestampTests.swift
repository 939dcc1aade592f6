import Foundation
import Testing

@testable import PortcullisCore

@Suite("Timestamps")
struct TimestampTests {
    @Test("timestamps are RFC 3339 in UTC with milliseconds")
    func format() {
        let date = Date(timeIntervalSince1970: 1_795_000_000.123)
        #expect(Timestamp.format(date) == "2026-11-18T11:06:40.123Z")
    }

    @Test("formatting and parsing round-trip to the millisecond")
    func roundTrip() throws {
        let date = Date(timeIntervalSince1970: 1_795_000_000.456)
        let parsed = try #require(Timestamp.parse(Timestamp.format(date)))
        #expect(Timestamp.milliseconds(parsed) == Timestamp.milliseconds(date))
    }

    @Test("from 1970 the day-count formatter writes what Foundation's format style writes, leap days and the last day of 9999 included")
    func matchesFoundation() {
        var generator = SystemRandomNumberGenerator()
        let fixed: [Int64] = [
            0, -1, 999, 1000, -86_400_000, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, -2_208_988_800_001,
            253_402_300_799_999, -62_135_596_800_000, 1_764_000_000_123,
        ]
        let random = (0..<2000).map { _ in Int64.random(in: 0...253_402_300_799_999, using: &generator) }
        for milliseconds in fixed + random {
            let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
            let expected = Timestamp.foundationFormat(seconds: seconds, fraction: Int(milliseconds - seconds * 1000))
            #expect(Timestamp.format(milliseconds: milliseconds) == expected, "\(milliseconds)")
        }
    }
}
