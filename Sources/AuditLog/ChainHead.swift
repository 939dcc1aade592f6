import Synchronization

/// The last link this process appended, so that the next batch of decisions can be appended in one
/// statement without reading the head first. Only a hint: the statement checks it (``AuditChain``), and a
/// stale hint (another writer appended, or pruning removed the record) costs one fallback.
final class ChainHead: Sendable {
    private let link = Mutex<(seq: Int64, hash: String)?>(nil)

    var known: (seq: Int64, hash: String)? {
        self.link.withLock { $0 }
    }

    /// Remembers `link` as the head once its transaction committed; an older link does not replace a newer
    /// one (two batches finishing out of order, after one was abandoned at its deadline), though after
    /// ``forget()`` a late one may come back: harmless, since the statement checks the link.
    func remember(_ link: (seq: Int64, hash: String)) {
        self.link.withLock { current in
            if current.map({ $0.seq < link.seq }) ?? true { current = link }
        }
    }

    func forget() {
        self.link.withLock { $0 = nil }
    }
}
