import Foundation
public import Logging
public import PortcullisCore
public import ServiceLifecycle

/// Keeps the key ring current on every replica: re-reads it every minute (so a key created by another
/// replica or by `portcullis keys rotate` is used and published), and rotates when the newest key is older
/// than `interval`, publishing the next key an hour before it signs.
public struct KeyRotation: Service {
    let keyRing: KeyRing
    let interval: Duration
    let publishAhead: Duration
    let clock: WallClock
    let logger: Logger

    public init(keyRing: KeyRing, interval: Duration, publishAhead: Duration = .seconds(3600), clock: WallClock, logger: Logger) {
        self.keyRing = keyRing
        self.clock = clock
        self.interval = interval
        self.publishAhead = publishAhead
        self.logger = logger
    }

    public func run() async throws {
        let keyRing = self.keyRing
        let interval = self.interval
        let publishAhead = self.publishAhead
        let clock = self.clock
        // Start-up has just loaded the ring (and migrated its table): the first check can wait a minute.
        try await PeriodicJob(name: "key ring maintenance", every: .seconds(60), logger: self.logger) {
            try await keyRing.refresh()
            if let newest = await keyRing.newestKeyCreatedAt(), clock.now.timeIntervalSince(newest) >= interval.seconds {
                try await keyRing.rotate(publishAhead: publishAhead)
            }
        }.run()
    }
}
