public import Foundation

/// A cron schedule: five fields (minute, hour, day of month, month, day of week) or six with leading
/// seconds, as flows' `cron` and the scheduler use it (API.md §5).
///
/// Each field takes `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n`, and lists of these
/// separated by commas; months and weekdays also take names (`JAN`, `mon`), `?` means "any" in the day
/// fields, and day of week 7 is Sunday like 0. `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
/// `@midnight` and `@hourly` stand for their usual expressions. When both day of month and day of week are
/// restricted, a day matching either fires (classic cron).
///
/// ```swift
/// let cron = try CronExpression("*/15 9-17 * * MON-FRI")
/// let next = cron.next(after: Date(), in: TimeZone(identifier: "Europe/Berlin")!)
/// ```
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written.
    public let description: String
    let seconds: Set<Int>
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    /// 0 = Sunday ... 6 = Saturday.
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0", "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
    /// Longest expression looked at: a schedule is a line, not a document.
    static let maximumLength = 256

    public init(_ text: String) throws(CronError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= Self.maximumLength else { throw CronError("the expression is empty or too long") }
        let expanded = Self.macros[trimmed.lowercased()] ?? trimmed
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 || fields.count == 6 else {
            throw CronError("expected 5 fields (minute hour day month weekday) or 6 with leading seconds, found \(fields.count)")
        }
        let offset = fields.count - 5
        self.description = trimmed
        self.seconds = offset == 1 ? try Self.parse(fields[0], name: "second", range: 0...59) : [0]
        self.minutes = try Self.parse(fields[offset], name: "minute", range: 0...59)
        self.hours = try Self.parse(fields[offset + 1], name: "hour", range: 0...23)
        let dayOfMonth = fields[offset + 2]
        self.daysOfMonth = try Self.parse(dayOfMonth, name: "day of month", range: 1...31, allowsQuestionMark: true)
        self.months = try Self.parse(fields[offset + 3], name: "month", range: 1...12, names: Self.monthNames, firstName: 1)
        let dayOfWeek = fields[offset + 4]
        let weekdays = try Self.parse(dayOfWeek, name: "day of week", range: 0...7, names: Self.dayNames, firstName: 0, allowsQuestionMark: true)
        self.daysOfWeek = Set(weekdays.map { $0 == 7 ? 0 : $0 })
        self.dayOfMonthRestricted = !Self.isWildcard(dayOfMonth)
        self.dayOfWeekRestricted = !Self.isWildcard(dayOfWeek)
    }

    static func isWildcard(_ field: String) -> Bool {
        field == "*" || field == "?"
    }

    /// The values `field` selects within `range`.
    static func parse(
        _ field: String, name: String, range: ClosedRange<Int>, names: [String] = [], firstName: Int = 0, allowsQuestionMark: Bool = false
    ) throws(CronError) -> Set<Int> {
        if allowsQuestionMark && field == "?" { return Set(range) }
        var values = Set<Int>()
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw CronError("the \(name) field has an empty list entry") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw CronError("the \(name) field has more than one step in '\(part)'") }
            var step = 1
            if pieces.count == 2 {
                guard let value = Int(pieces[1]), value > 0, value <= range.upperBound + 1 else {
                    throw CronError("the \(name) field has an invalid step in '\(part)'")
                }
                step = value
            }
            let base = pieces[0]
            let lower: Int
            let upper: Int
            if base == "*" {
                (lower, upper) = (range.lowerBound, range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                lower = try Self.value(base[..<dash], name: name, range: range, names: names, firstName: firstName)
                upper = try Self.value(base[base.index(after: dash)...], name: name, range: range, names: names, firstName: firstName)
                guard lower <= upper else { throw CronError("the \(name) field has a backwards range '\(base)'") }
            } else {
                lower = try Self.value(base, name: name, range: range, names: names, firstName: firstName)
                // `a/n` runs from a to the end of the range; a plain value is just itself.
                upper = pieces.count == 2 ? range.upperBound : lower
            }
            values.formUnion(stride(from: lower, through: upper, by: step))
        }
        return values
    }

    static func value(_ text: Substring, name: String, range: ClosedRange<Int>, names: [String], firstName: Int) throws(CronError) -> Int {
        if let index = names.firstIndex(of: text.uppercased()) { return index + firstName }
        guard text.allSatisfy(\.isASCII), let value = Int(text), range.contains(value) else {
            throw CronError("the \(name) field has '\(text)', not a value in \(range.lowerBound)-\(range.upperBound)")
        }
        return value
    }

    /// Whether a day fires: day of month and day of week both restricted means either one; otherwise both.
    func matchesDay(dayOfMonth: Int, weekday: Int) -> Bool {
        let byMonthDay = self.daysOfMonth.contains(dayOfMonth)
        let byWeekday = self.daysOfWeek.contains(weekday)
        if self.dayOfMonthRestricted && self.dayOfWeekRestricted { return byMonthDay || byWeekday }
        return byMonthDay && byWeekday
    }

    /// The first time strictly after `date` at which the schedule fires, read in `timeZone`; nil when it
    /// never fires within 30 years (`0 0 30 2 *`: February 30th).
    ///
    /// Daylight saving: a time that a spring-forward change skips fires at the first valid instant after
    /// the gap (`30 2 * * *` in Berlin on the last Sunday of March fires at 03:00); a time that a fall-back
    /// change repeats fires once, in its first occurrence.
    public func next(after date: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        guard let limit = calendar.date(byAdding: .year, value: 30, to: date) else { return nil }
        let regular = self.walk(after: date, until: limit, calendar: calendar)
        // A skipped time that would have fired before the regular next one fires when the gap ends.
        var transition = timeZone.nextDaylightSavingTimeTransition(after: date)
        while let instant = transition, instant <= (regular ?? limit) {
            if self.firesInGap(endingAt: instant, in: timeZone) { return instant }
            transition = timeZone.nextDaylightSavingTimeTransition(after: instant)
        }
        return regular
    }

    /// The regular walk: instant by instant (with jumps), the first whose local time matches and is not
    /// the second occurrence of a repeated local time.
    func walk(after date: Date, until limit: Date, calendar: Calendar) -> Date? {
        // Whole seconds: the next candidate is the start of the second after `date`.
        var candidate = Date(timeIntervalSince1970: (date.timeIntervalSince1970 + 1).rounded(.down))
        while candidate <= limit {
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: candidate)
            guard let year = parts.year, let month = parts.month, let day = parts.day, let hour = parts.hour, let minute = parts.minute,
                let second = parts.second, let weekday = parts.weekday
            else { return nil }
            if !self.months.contains(month) {
                guard let next = calendar.date(from: DateComponents(year: year, month: month + 1, day: 1)) else { return nil }
                candidate = next
            } else if !self.matchesDay(dayOfMonth: day, weekday: weekday - 1) {
                guard let next = calendar.date(from: DateComponents(year: year, month: month, day: day + 1)) else { return nil }
                candidate = next
            } else if !self.hours.contains(hour) {
                guard let start = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour)),
                    let next = calendar.date(byAdding: .hour, value: 1, to: start)
                else { return nil }
                candidate = max(next, candidate.addingTimeInterval(1))
            } else if !self.minutes.contains(minute) {
                candidate = candidate.addingTimeInterval(Double(60 - second))
            } else if !self.seconds.contains(second) {
                candidate = candidate.addingTimeInterval(1)
            } else if Self.isRepeat(candidate, calendar: calendar) {
                candidate = candidate.addingTimeInterval(1)
            } else {
                return candidate
            }
        }
        return nil
    }

    /// Whether the local time of `instant` already occurred earlier the same night (a fall-back change).
    static func isRepeat(_ instant: Date, calendar: Calendar) -> Bool {
        let zone = calendar.timeZone
        let delta = zone.secondsFromGMT(for: instant.addingTimeInterval(-7200)) - zone.secondsFromGMT(for: instant)
        guard delta > 0 else { return false }
        let twin = instant.addingTimeInterval(-Double(delta))
        let fields: Set<Calendar.Component> = [.year, .month, .day, .hour, .minute, .second]
        return calendar.dateComponents(fields, from: twin) == calendar.dateComponents(fields, from: instant)
    }

    /// Whether a local time the schedule fires at falls into the gap a spring-forward change opens just
    /// before `transition`.
    func firesInGap(endingAt transition: Date, in timeZone: TimeZone) -> Bool {
        let before = timeZone.secondsFromGMT(for: transition.addingTimeInterval(-1))
        let gap = timeZone.secondsFromGMT(for: transition) - before
        guard gap > 0 else { return false }
        // The skipped wall-clock times, read as UTC so that they exist.
        var wall = Calendar(identifier: .gregorian)
        wall.timeZone = TimeZone(identifier: "UTC")!
        let start = transition.addingTimeInterval(Double(before))
        for offset in stride(from: 0, to: gap, by: 1) {
            let parts = wall.dateComponents([.month, .day, .hour, .minute, .second, .weekday], from: start.addingTimeInterval(Double(offset)))
            guard let month = parts.month, let day = parts.day, let hour = parts.hour, let minute = parts.minute, let second = parts.second,
                let weekday = parts.weekday
            else { continue }
            if self.months.contains(month) && self.matchesDay(dayOfMonth: day, weekday: weekday - 1) && self.hours.contains(hour)
                && self.minutes.contains(minute) && self.seconds.contains(second)
            {
                return true
            }
        }
        return false
    }
}

/// Why a cron expression was refused, in words naming the field (the API answers OIH's `Invalid cron expression.` with this as the entry's `detail`).
public struct CronError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
