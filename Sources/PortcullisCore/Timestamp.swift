public import Foundation

/// The one timestamp format of the contract: RFC 3339, UTC, milliseconds (`2026-11-29T10:15:30.123Z`).
public enum Timestamp {
    /// Formats `date`, rounded to the nearest millisecond. The fraction is written from the integer
    /// millisecond count: formatting the binary fraction directly would print 0.123 as 0.122.
    public static func format(_ date: Date) -> String {
        let milliseconds = self.milliseconds(date)
        let seconds = milliseconds.floorDivided(by: 1000)
        let fraction = milliseconds - seconds * 1000
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
