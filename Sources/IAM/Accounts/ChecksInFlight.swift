import Foundation
public import Logging
public import Messaging
public import PortcullisCore
public import Storage
import Synchronization

/// Password checks under way per client address.
final class ChecksInFlight: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Counts one more check for `address`, unless it has `limit` under way already.
    func enter(_ address: String, limit: Int) -> Bool {
        self.counts.withLock { counts in
            guard counts[address, default: 0] < limit else { return false }
            counts[address, default: 0] += 1
            return true
        }
    }

    func leave(_ address: String) {
        self.counts.withLock { counts in
            let left = counts[address, default: 1] - 1
            counts[address] = left > 0 ? left : nil
        }
    }
}
