import Foundation

/// Next due times worked out in one batch: flows on the same cron and zone, due at the same time, share
/// one answer.
struct NextDueTimes {
    private struct Key: Hashable {
        let cron: String
        let timezone: String?
        let after: Date
    }

    private var known: [Key: Date?] = [:]

    mutating func next(cron: String, timezone: String?, after: Date) -> Date? {
        let key = Key(cron: cron, timezone: timezone, after: after)
        if let next = self.known[key] { return next }
        let next = Schedules.next(cron: cron, timezone: timezone, after: after)
        self.known[key] = next
        return next
    }
}
