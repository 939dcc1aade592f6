public import Foundation

/// The one timestamp format of the contract: RFC 3339, UTC, milliseconds (`2026-11-29T10:15:30.123Z`).
public enum Timestamp {
    /// Formats `date`, rounded to the nearest millisecond. The fraction is written from the integer
    /// millisecond count: formatting the binary fraction directly would print 0.123 as 0.122.
    public static func format(_ date: Date) -> String {
        self.format(milliseconds: self.milliseconds(date))
    }

    /// Formats a millisecond count since 1970. From 1970 to 9999 the date is computed from the day count
    /// (every decision record carries a timestamp, and Foundation's format style cost 2.5 % of an
    /// authenticated request's CPU); other times go through Foundation, whose calendar turns Julian before
    /// 1582.
    public static func format(milliseconds: Int64) -> String {
        let seconds = milliseconds.floorDivided(by: 1000)
        let fraction = Int(milliseconds - seconds * 1000)
        let days = seconds.floorDivided(by: 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = Self.civil(daysSince1970: days)
        guard milliseconds >= 0, year <= 9999 else { return self.foundationFormat(seconds: seconds, fraction: fraction) }
        var text = [UInt8]()
        text.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var value = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(value / divisor))
                value %= divisor
                divisor /= 10
            }
        }
        digits(Int(year), 4)
        text.append(UInt8(ascii: "-"))
        digits(month, 2)
        text.append(UInt8(ascii: "-"))
        digits(day, 2)
        text.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2)
        text.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2)
        text.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        text.append(UInt8(ascii: "."))
        digits(fraction, 3)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
    static func civil(daysSince1970 days: Int64) -> (year: Int64, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func foundationFormat(seconds: Int64, fraction: Int) -> String {
        let whole = Date(timeIntervalSince1970: Double(seconds))
            .formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().time(includingFractionalSeconds: false))
        let padded = String(fraction + 1000).dropFirst()
        return "\(whole).\(padded)Z"
    }

    /// Parses an RFC 3339 timestamp with or without fractional seconds.
    public static func parse(_ string: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).parse(string) {
            return date
        }
        return try? Date.ISO8601FormatStyle(timeZone: .gmt).parse(string)
    }

    /// Milliseconds since 1970 (rounded to the nearest), the form timestamps are stored in.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor < 0) ? quotient - 1 : quotient
    }
}
