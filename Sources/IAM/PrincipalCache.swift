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

    private let entries = Mutex<[String: Entry]>([:])
    let ttl: TimeInterval

    public init(ttl: TimeInterval = 30) {
        self.ttl = ttl
    }

    func get(_ tokenHash: String, now: Date) -> Principal? {
        self.entries.withLock { entries in
            guard let entry = entries[tokenHash] else { return nil }
            if entry.expiresAt <= now {
                entries.removeValue(forKey: tokenHash)
                return nil
            }
            return entry.principal
        }
    }

    func put(_ principal: Principal, tokenHash: String, now: Date) {
        let expiresAt = min(principal.expiresAt ?? .distantFuture, now.addingTimeInterval(self.ttl))
        self.entries.withLock { entries in
            // Bounded: a flood of distinct tokens must not grow memory without limit.
            if entries.count >= 100_000 { entries.removeAll() }
            entries[tokenHash] = Entry(principal: principal, expiresAt: expiresAt)
        }
    }

    /// Applies a change notice: `account:<id>`, `token:<id>`, or `*` (everything).
    public func purge(_ notice: String) {
        self.entries.withLock { entries in
            if notice.hasPrefix("account:") {
                let id = String(notice.dropFirst("account:".count))
                entries = entries.filter { $0.value.principal.accountID != id }
            } else if notice.hasPrefix("token:") {
                let id = String(notice.dropFirst("token:".count))
                entries = entries.filter { $0.value.principal.tokenID != id }
            } else {
                entries.removeAll()
            }
        }
    }
}
