import PortcullisCore
import Synchronization

/// The digests of permission sets this process has seen committed, so that a batch writes only the sets
/// that may be new. Bounded: past ``limit`` digests it starts over (a set written twice is harmless).
final class StoredPermissionSets: Sendable {
    static let limit = 10_000
    private let digests = Mutex<Set<String>>([])

    /// The distinct sets of `sets` whose digests were not seen committed.
    func unknown(in sets: [PermissionSet]) -> [PermissionSet] {
        guard !sets.isEmpty else { return [] }
        var seen: Set<String> = []
        let distinct = sets.filter { seen.insert($0.digest).inserted }
        return self.digests.withLock { known in distinct.filter { !known.contains($0.digest) } }
    }

    /// Marks `sets` as stored, once their transaction committed.
    func remember(_ sets: [PermissionSet]) {
        guard !sets.isEmpty else { return }
        self.digests.withLock { known in
            if known.count + sets.count > Self.limit { known.removeAll(keepingCapacity: true) }
            for set in sets { known.insert(set.digest) }
        }
    }
}
