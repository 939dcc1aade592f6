public import Foundation
import PortcullisCore
import Synchronization

/// Verified principals by SHA-256 of their token, so that a token is verified against the key ring and the
/// database once, not on every request. Entries live until the token expires or `ttl` passes, whichever is
/// first, and are purged at once when an account, role or token changes (see ``IdentityChanges``).
public final class PrincipalCache: Sendable {
    private struct Entry {
        let principal: Principal
        let expiresAt: Date
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Counts purges. A verification that began before a purge must not put its (possibly revoked)
        /// principal back: ``put(_:tokenHash:now:verifiedSince:)`` refuses it when the count moved.
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    let ttl: TimeInterval

    public init(ttl: TimeInterval = 30) {
        self.ttl = ttl
    }

    /// The purge count now: take it before verifying a token, and hand it to ``put(_:tokenHash:now:verifiedSince:)``.
    var generation: UInt64 {
        self.state.withLock { $0.generation }
    }

    func get(_ tokenHash: String, now: Date) -> Principal? {
        self.state.withLock { state in
            guard let entry = state.entries[tokenHash] else { return nil }
            if entry.expiresAt <= now {
                state.entries.removeValue(forKey: tokenHash)
                return nil
            }
            return entry.principal
        }
    }

    /// Caches `principal`, unless a purge happened since `generation` was read: the token may have been
    /// revoked (or its account changed) while it was being verified, and the purge must win.
    func put(_ principal: Principal, tokenHash: String, now: Date, verifiedSince generation: UInt64) {
        guard self.ttl > 0 else { return }
        let expiresAt = min(principal.expiresAt ?? .distantFuture, now.addingTimeInterval(self.ttl))
        self.state.withLock { state in
            guard state.generation == generation else { return }
            // Bounded: a flood of distinct tokens must not grow memory without limit.
            if state.entries.count >= 100_000 { state.entries.removeAll() }
            state.entries[tokenHash] = Entry(principal: principal, expiresAt: expiresAt)
        }
    }

    /// Applies a change notice: `account:<id>`, `token:<id>`, or `*` (everything).
    public func purge(_ notice: String) {
        self.state.withLock { state in
            state.generation &+= 1
            if notice.hasPrefix("account:") {
                let id = String(notice.dropFirst("account:".count))
                state.entries = state.entries.filter { $0.value.principal.accountID != id }
            } else if notice.hasPrefix("token:") {
                let id = String(notice.dropFirst("token:".count))
                state.entries = state.entries.filter { $0.value.principal.tokenID != id }
            } else {
                state.entries.removeAll()
            }
        }
    }
}
