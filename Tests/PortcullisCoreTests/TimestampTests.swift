import Foundation
import PortcullisCore
import Testing

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
}
