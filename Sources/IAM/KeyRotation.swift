import Foundation
public import Logging
public import ServiceLifecycle

/// Keeps the key ring current on every replica: re-reads it every minute (so a key created by another
/// replica or by `portcullis keys rotate` is used and published), and rotates when the newest key is older
/// than `interval`, publishing the next key an hour before it signs.
public struct KeyRotation: Service {
    let keyRing: KeyRing
    let interval: Duration
    let publishAhead: Duration
    let logger: Logger

    public init(keyRing: KeyRing, interval: Duration, publishAhead: Duration = .seconds(3600), logger: Logger) {
        self.keyRing = keyRing
        self.interval = interval
        self.publishAhead = publishAhead
        self.logger = logger
    }

    public func run() async throws {
        // Start-up has just loaded the ring (and migrated its table): the first check can wait a minute.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(60)) }
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            do {
                try await self.keyRing.refresh()
                if let newest = await self.keyRing.newestKeyCreatedAt(), Date().timeIntervalSince(newest) >= self.interval.seconds {
                    try await self.keyRing.rotate(publishAhead: self.publishAhead)
                }
            } catch {
                self.logger.warning("key ring maintenance failed; retrying", metadata: ["error": "\(error)"])
            }
        }
    }
}
