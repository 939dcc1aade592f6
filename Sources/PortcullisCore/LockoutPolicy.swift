import Foundation
public import Logging

/// When repeated failed logins lock an account or a client address (`PORTCULLIS_LOCKOUT_*`).
public struct LockoutPolicy: Sendable, Equatable {
    public var accountAttempts: Int
    public var ipAttempts: Int
    public var window: Duration
    public var duration: Duration

    public init(accountAttempts: Int = 5, ipAttempts: Int = 20, window: Duration = .seconds(900), duration: Duration = .seconds(900)) {
        self.accountAttempts = accountAttempts
        self.ipAttempts = ipAttempts
        self.window = window
        self.duration = duration
    }
}
