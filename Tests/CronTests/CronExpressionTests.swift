import Cron
import Foundation
import Testing

@Suite("Cron expressions")
struct CronExpressionTests {
    static let utc = TimeZone(identifier: "UTC")!

    /// `2026-01-05T10:07:30Z` style, in UTC.
    static func date(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text)!
    }

    static func next(_ expression: String, after: String, in zone: TimeZone = utc) throws -> Date? {
        try CronExpression(expression).next(after: Self.date(after), in: zone)
    }

    @Test("five fields fire on the minute; the next time is strictly after the given one")
    func fiveFields() throws {
        #expect(try Self.next("*/15 * * * *", after: "2026-01-05T10:07:30Z") == Self.date("2026-01-05T10:15:00Z"))
        #expect(try Self.next("*/15 * * * *", after: "2026-01-05T10:15:00Z") == Self.date("2026-01-05T10:30:00Z"))
        #expect(try Self.next("0 9 * * *", after: "2026-01-05T09:00:00Z") == Self.date("2026-01-06T09:00:00Z"))
        #expect(try Self.next("5,35 8-9 * * *", after: "2026-01-05T09:36:00Z") == Self.date("2026-01-06T08:05:00Z"))
        #expect(try Self.next("@hourly", after: "2026-12-31T23:59:59Z") == Self.date("2027-01-01T00:00:00Z"))
    }

    @Test("six fields take leading seconds")
    func sixFields() throws {
        #expect(try Self.next("*/10 * * * * *", after: "2026-01-05T10:07:31Z") == Self.date("2026-01-05T10:07:40Z"))
        #expect(try Self.next("30 0 12 * * *", after: "2026-01-05T12:00:30Z") == Self.date("2026-01-06T12:00:30Z"))
    }

    @Test("months and weekdays by name, weekday 7 is Sunday, ranges with steps")
    func namesAndSteps() throws {
        // 2026-01-05 is a Monday.
        #expect(try Self.next("0 8 * * MON-FRI", after: "2026-01-09T08:00:00Z") == Self.date("2026-01-12T08:00:00Z"))
        #expect(try Self.next("0 8 * * 7", after: "2026-01-05T00:00:00Z") == Self.date("2026-01-11T08:00:00Z"))
        #expect(try Self.next("0 8 * * sun", after: "2026-01-05T00:00:00Z") == Self.date("2026-01-11T08:00:00Z"))
        #expect(try Self.next("0 0 1 jun,dec *", after: "2026-01-05T00:00:00Z") == Self.date("2026-06-01T00:00:00Z"))
        #expect(try Self.next("0 10-18/4 * * *", after: "2026-01-05T14:00:00Z") == Self.date("2026-01-05T18:00:00Z"))
        #expect(try Self.next("0 20/2 * * *", after: "2026-01-05T20:30:00Z") == Self.date("2026-01-05T22:00:00Z"))
    }

    @Test("day of month and day of week both restricted: either fires, as in classic cron")
    func dayOrWeekday() throws {
        // The 15th, or any Friday: after Monday the 5th comes Friday the 9th.
        #expect(try Self.next("0 0 15 * FRI", after: "2026-01-05T00:00:00Z") == Self.date("2026-01-09T00:00:00Z"))
        // Only the day of month restricted (weekday '?'): the 15th.
        #expect(try Self.next("0 0 15 * ?", after: "2026-01-05T00:00:00Z") == Self.date("2026-01-15T00:00:00Z"))
    }

    @Test("a time zone moves the firing; daylight saving is followed")
    func timeZones() throws {
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        // 09:00 in Berlin is 08:00Z in winter and 07:00Z in summer.
        #expect(try Self.next("0 9 * * *", after: "2026-01-05T00:00:00Z", in: berlin) == Self.date("2026-01-05T08:00:00Z"))
        #expect(try Self.next("0 9 * * *", after: "2026-07-01T00:00:00Z", in: berlin) == Self.date("2026-07-01T07:00:00Z"))
        // 02:30 does not exist on 2026-03-29 in Berlin (02:00 → 03:00): it fires at the first valid instant,
        // 03:00 CEST (01:00Z), once; the next day as usual.
        #expect(try Self.next("30 2 * * *", after: "2026-03-28T02:00:00Z", in: berlin) == Self.date("2026-03-29T01:00:00Z"))
        #expect(try Self.next("30 2 * * *", after: "2026-03-29T01:00:00Z", in: berlin) == Self.date("2026-03-30T00:30:00Z"))
        // Every second through the gap: 01:59:59 CET, then 03:00:00 CEST, without a second in between.
        #expect(try Self.next("* * * * * *", after: "2026-03-29T00:59:59Z", in: berlin) == Self.date("2026-03-29T01:00:00Z"))
        // 02:30 happens twice on 2026-10-25 (03:00 → 02:00): it fires in the first occurrence only.
        #expect(try Self.next("30 2 * * *", after: "2026-10-25T00:00:00Z", in: berlin) == Self.date("2026-10-25T00:30:00Z"))
        #expect(try Self.next("30 2 * * *", after: "2026-10-25T00:30:00Z", in: berlin) == Self.date("2026-10-26T01:30:00Z"))
        // An hourly schedule keeps firing each real hour across the fall-back, but not the repeated 02:00.
        #expect(try Self.next("0 * * * *", after: "2026-10-25T00:00:00Z", in: berlin) == Self.date("2026-10-25T02:00:00Z"))
        // A schedule away from the change is untouched by it.
        #expect(try Self.next("0 12 * * *", after: "2026-03-28T12:00:00Z", in: berlin) == Self.date("2026-03-29T10:00:00Z"))
    }

    @Test("out-of-range values are refused naming the field")
    func fieldNames() {
        for (expression, field) in [
            ("61 * * * *", "minute"), ("* 25 * * *", "hour"), ("* * 32 * *", "day"), ("* * * 13 *", "month"), ("* * * * 9", "week"),
        ] {
            do {
                _ = try CronExpression(expression)
                Issue.record("\(expression) was accepted")
            } catch {
                #expect(error.description.contains(field), "\(expression): \(error.description)")
            }
        }
        #expect(throws: CronError.self) { try CronExpression("61 * * * * *") }
    }

    @Test("next runs across month ends and the leap day")
    func monthEnds() throws {
        #expect(try Self.next("0 0 31 * *", after: "2026-04-01T00:00:00Z") == Self.date("2026-05-31T00:00:00Z"))
        #expect(
            try Self.next("0 0 28-31 * *", after: "2026-02-27T00:00:00Z")
                == Self.date("2026-02-28T00:00:00Z"))
        #expect(try Self.next("59 23 28 2 *", after: "2028-02-28T23:59:00Z") == Self.date("2029-02-28T23:59:00Z"))
        #expect(try Self.next("0 12 29 2 *", after: "2028-02-29T11:00:00Z") == Self.date("2028-02-29T12:00:00Z"))
    }

    @Test("a schedule that never fires has no next time; February 29th waits for a leap year")
    func rareAndNever() throws {
        #expect(try Self.next("0 0 30 2 *", after: "2026-01-01T00:00:00Z") == nil)
        #expect(try Self.next("0 0 29 2 *", after: "2026-01-01T00:00:00Z") == Self.date("2028-02-29T00:00:00Z"))
    }

    @Test(
        "malformed expressions are refused with a reason",
        arguments: [
            "", "* * * *", "* * * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *",
            "5-1 * * * *", "a * * * *", "1,,2 * * * *", "*/5/2 * * * *", "? * * * *", "* ? * * *", "-1 * * * *", "@never",
            String(repeating: "1,", count: 200) + "1 * * * *",
        ])
    func malformed(expression: String) {
        #expect(throws: CronError.self) { try CronExpression(expression) }
    }
}
