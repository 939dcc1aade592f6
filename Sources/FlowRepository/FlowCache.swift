import Synchronization

/// Flows by id as last read from the database, so that reading a flow (every `GET /flows/{id}`, and the
/// visibility check before each change) does not wait for the database behind the decision journal.
///
/// Only reads use it: every change reads the flow again, holding its row, inside its transaction. An
/// entry goes when its flow changes (``invalidate(_:)``: in the changing transaction and again once it
/// has ended, in this process; on the database's notification channel, in every replica, see
/// ``FlowChanges``), when `ttl` has passed (the bound on staleness when notices are lost: while a
/// replica's notification connection is down, until it is back and empties the cache), or to make room:
/// at most `capacity` entries and `byteBudget` bytes by an estimate of their size in memory.
final class FlowCache: Sendable {
    static let defaultCapacity = 10_000
    static let defaultByteBudget = 64 << 20
    static let defaultTTL: Duration = .seconds(5)

    private struct Entry {
        let flow: Flow
        let answers: FlowAnswerMemo
        let size: Int
        let storedAt: ContinuousClock.Instant
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        /// Counts invalidations. A read that began before one must not put what it read (possibly the
        /// version before the change) into the cache: ``put(_:size:readSince:)`` refuses it when the count moved.
        var generation: UInt64 = 0

        mutating func remove(_ id: String) {
            if let entry = self.entries.removeValue(forKey: id) { self.bytes -= entry.size }
        }
    }

    private let state = Mutex(State())
    let capacity: Int
    let byteBudget: Int
    let ttl: Duration
    private let now: @Sendable () -> ContinuousClock.Instant

    init(
        capacity: Int = FlowCache.defaultCapacity, byteBudget: Int = FlowCache.defaultByteBudget, ttl: Duration = FlowCache.defaultTTL,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.capacity = capacity
        self.byteBudget = byteBudget
        self.ttl = ttl
        self.now = now
    }

    /// The invalidation count now: take it before reading a flow, and hand it to ``put(_:size:readSince:)``.
    var generation: UInt64 {
        self.state.withLock { $0.generation }
    }

    var count: Int {
        self.state.withLock { $0.entries.count }
    }

    /// The cached flow `id`, with the memo of its encoded answers (which goes with this version of it).
    func get(_ id: String) -> CachedFlow? {
        let now = self.now()
        return self.state.withLock { state in
            guard let entry = state.entries[id] else { return nil }
            guard now - entry.storedAt < self.ttl else {
                state.remove(id)
                return nil
            }
            return CachedFlow(flow: entry.flow, answers: entry.answers)
        }
    }

    /// Keeps `flow` (`size`: an estimate of the bytes it takes decoded, ``FlowStore/approximateSize(_:owners:)``),
    /// unless an invalidation happened since `generation` was read; an entry larger than a quarter of the
    /// byte budget is not kept. Returns it with the memo of its answers when kept. An entry is counted at
    /// `size` plus twice its stored text's share of it, for up to two encoded answers (with and without
    /// the token's client id): `3 * size`, a bound on both.
    func put(_ flow: Flow, size: Int, readSince generation: UInt64) -> CachedFlow {
        let size = 3 * size
        guard self.capacity > 0, self.ttl > .zero, size <= self.byteBudget / 4 else { return CachedFlow(flow: flow, answers: nil) }
        let entry = Entry(flow: flow, answers: FlowAnswerMemo(), size: size, storedAt: self.now())
        return self.state.withLock { state in
            guard state.generation == generation else { return CachedFlow(flow: flow, answers: nil) }
            state.remove(flow.id)
            // Room is made by dropping random entries: fair enough for a cache whose misses cost one
            // indexed read, and no id is always the one to go.
            while let victim = state.entries.randomElement()?.key,
                state.entries.count >= self.capacity || state.bytes + size > self.byteBudget
            {
                state.remove(victim)
            }
            state.entries[flow.id] = entry
            state.bytes += size
            return CachedFlow(flow: flow, answers: entry.answers)
        }
    }

    /// Drops the flow `id`, and refuses reads in flight from filling the cache.
    func invalidate(_ id: String) {
        self.state.withLock { state in
            state.generation &+= 1
            state.remove(id)
        }
    }

    /// Drops every flow, and refuses reads in flight from filling the cache.
    func invalidateAll() {
        self.state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll()
            state.bytes = 0
        }
    }
}
