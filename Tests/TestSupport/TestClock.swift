public import Foundation
public import PortcullisCore
import Synchronization

/// A time of day the test moves: hand ``wallClock`` to the code under test and ``advance(by:)`` instead
/// of sleeping or rewriting timestamps in the database.
public final class TestClock: Sendable {
    private let date: Mutex<Date>

    public init(_ start: Date = Date()) {
        self.date = Mutex(start)
    }

    public var now: Date { self.date.withLock { $0 } }

    public func advance(by seconds: TimeInterval) {
        self.date.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    public var wallClock: WallClock {
        WallClock { self.now }
    }
}
