public import Foundation

/// Where module code reads the time of day: `clock.now` instead of `Date()`, so that tests (and the coming
/// scheduler's) can move time without sleeping or rewriting rows.
///
/// ```swift
/// let clock = WallClock.system
/// let expires = clock.now.addingTimeInterval(900)
/// ```
public struct WallClock: Sendable {
    private let read: @Sendable () -> Date

    public init(_ read: @escaping @Sendable () -> Date) {
        self.read = read
    }

    /// The real time of day.
    public static let system = WallClock { Date() }

    public var now: Date { self.read() }
}
