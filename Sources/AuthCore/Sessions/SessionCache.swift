import CoreMetrics
import NIOCore
import Synchronization

/// Where a node reads sessions from.
public enum SessionCacheMode: String, Sendable, CaseIterable {
    /// Redis, on every request (GETEX, which also slides the idle expiry).
    case off
    /// Memory first, kept true by Redis's key tracking (`SessionCache`).
    case tracking
}

/// A node's memory of recently used sessions, kept true by Redis's key tracking
/// (`SessionCacheSync` feeds it): an entry leaves as soon as its key changes in Redis, and the
/// whole cache is emptied whenever the invalidation feed is not known to be complete.
///
/// It answers only while `isCurrent`: the feed is subscribed and was confirmed complete (a PING
/// answered on it) within `maxStaleness`. A session read from Redis is kept only when no
/// invalidation of its key and no flush came between the read and the insert, so an
/// invalidation racing the read can never leave a deleted session behind.
/// At most `capacity` entries; the least recently used leaves first.
public final class SessionCache: Sendable {
    public struct Entry: Sendable, Hashable {
        public var session: StoredSession
        /// When Redis will drop the key unless it is touched (seconds since 1970).
        public var idleExpiry: Double
    }

    /// A read of one session from Redis that may end in an insert.
    public struct Fetch: Sendable {
        let idHash: String
    }

    public let maxStaleness: TimeAmount
    private let state: Mutex<State>
    private let counters: Counters
    /// Sessions whose idle expiry is due to be pushed out in Redis; `SessionCacheSync` sends them.
    let touches: AsyncStream<String>
    private let touchRequests: AsyncStream<String>.Continuation

    public init(capacity: Int, maxStaleness: TimeAmount, metricsFactory: any MetricsFactory = MetricsSystem.factory) {
        precondition(capacity > 0, "a session cache holds at least one entry")
        self.maxStaleness = maxStaleness
        self.state = Mutex(State(capacity: capacity))
        self.counters = Counters(factory: metricsFactory)
        (touches, touchRequests) = AsyncStream.makeStream(of: String.self)
    }

    /// The feed is up and was confirmed complete within `maxStaleness`.
    public var isCurrent: Bool {
        state.withLock { $0.isCurrent(now: NIODeadline.now().uptimeNanoseconds, maxStaleness: maxStaleness) }
    }

    public var count: Int { state.withLock { $0.entries.count } }

    /// The session is in memory (whatever its expiry); neither a hit nor a use.
    public func holds(_ idHash: String) -> Bool { state.withLock { $0.entries.contains(idHash) } }

    /// The cached session, unless it is unknown, past its idle expiry at `now`, or the cache is
    /// not current (then it is emptied first, once).
    public func lookup(_ idHash: String, now: Double) -> Entry? {
        let uptime = NIODeadline.now().uptimeNanoseconds
        let (entry, current, flushed) = state.withLock { state -> (Entry?, Bool, Bool) in
            guard state.isCurrent(now: uptime, maxStaleness: maxStaleness) else {
                return (nil, false, state.flushIfFilled())
            }
            guard let entry = state.entries.get(idHash) else { return (nil, true, false) }
            guard entry.idleExpiry > now else {
                state.entries.remove(idHash)
                return (nil, true, false)
            }
            return (entry, true, false)
        }
        if flushed { counters.flushes.increment() }
        if current { entry == nil ? counters.misses.increment() : counters.hits.increment() }
        return entry
    }

    /// Starts a read of `idHash` from Redis; nil when the cache is not current (the caller reads
    /// Redis the uncached way, counted as a bypass).
    public func beginFetch(_ idHash: String) -> Fetch? {
        let uptime = NIODeadline.now().uptimeNanoseconds
        let fetch = state.withLock { state -> Fetch? in
            guard state.isCurrent(now: uptime, maxStaleness: maxStaleness) else { return nil }
            state.fetching[idHash, default: 0] += 1
            return Fetch(idHash: idHash)
        }
        if fetch == nil { counters.bypasses.increment() }
        return fetch
    }

    /// Ends a read: keeps `entry` unless the key was invalidated or the cache flushed meanwhile.
    public func endFetch(_ fetch: Fetch, _ entry: Entry?) {
        let evicted = state.withLock { state -> Bool in
            let invalidated = state.invalidatedWhileFetching.contains(fetch.idHash)
            if let others = state.fetching[fetch.idHash], others > 1 {
                state.fetching[fetch.idHash] = others - 1
            } else {
                state.fetching[fetch.idHash] = nil
                state.invalidatedWhileFetching.remove(fetch.idHash)
            }
            guard let entry, !invalidated else { return false }
            return state.entries.set(fetch.idHash, entry)
        }
        if evicted { counters.evictions.increment() }
    }

    /// Asks for the session's idle expiry to be pushed out in Redis, unless a touch of it is
    /// already on its way.
    public func requestTouch(_ idHash: String) {
        let first = state.withLock { $0.touching.insert(idHash).inserted }
        guard first else { return }
        counters.touches.increment()
        touchRequests.yield(idHash)
    }

    /// The touch's EXPIRE has been answered: the entry's TTL is stale, so it goes now rather
    /// than when the touch's own invalidation arrives (a request in between would touch again).
    func touchFinished(_ idHash: String) {
        state.withLock { state in
            state.forget(idHash)
            state.touching.remove(idHash)
        }
    }

    /// These sessions changed in Redis.
    func invalidate(_ idHashes: [String]) {
        state.withLock { state in
            for idHash in idHashes { state.forget(idHash) }
        }
        counters.invalidations.increment(by: Int64(idHashes.count))
    }

    /// Forgets everything, and every read in flight keeps nothing.
    func flush() {
        state.withLock { _ = $0.flush() }
        counters.flushes.increment()
    }

    /// The feed (re)subscribed at `instant`: everything from then on will be heard.
    func feedStarted(at instant: NIODeadline) {
        state.withLock { state in
            _ = state.flush()
            state.feedUp = true
            state.confirmedUpTo = instant.uptimeNanoseconds
        }
        counters.flushes.increment()
    }

    /// The feed was lost: nothing cached can be trusted until it is back.
    func feedLost() {
        state.withLock { state in
            _ = state.flush()
            state.feedUp = false
        }
        counters.flushes.increment()
    }

    /// Every invalidation sent before `instant` has been applied.
    func feedConfirmed(upTo instant: NIODeadline) {
        state.withLock { state in
            if state.feedUp { state.confirmedUpTo = max(state.confirmedUpTo, instant.uptimeNanoseconds) }
        }
    }

    private struct State {
        var entries: LRUDictionary<Entry>
        /// Reads of each session from Redis in flight, and those whose key changed meanwhile.
        var fetching: [String: Int] = [:]
        var invalidatedWhileFetching: Set<String> = []
        var touching: Set<String> = []
        var feedUp = false
        var confirmedUpTo: UInt64 = 0

        init(capacity: Int) {
            entries = LRUDictionary(capacity: capacity)
        }

        func isCurrent(now: UInt64, maxStaleness: TimeAmount) -> Bool {
            feedUp && (now < confirmedUpTo || now - confirmedUpTo <= UInt64(maxStaleness.nanoseconds))
        }

        /// Drops the session, and any read of it in flight keeps nothing.
        mutating func forget(_ idHash: String) {
            entries.remove(idHash)
            if fetching[idHash] != nil { invalidatedWhileFetching.insert(idHash) }
        }

        mutating func flush() -> Bool {
            let hadEntries = !entries.isEmpty
            entries.removeAll()
            invalidatedWhileFetching.formUnion(fetching.keys)
            return hadEntries
        }

        /// A flush for a feed gone stale, counted only when it dropped something.
        mutating func flushIfFilled() -> Bool {
            guard !entries.isEmpty else { return false }
            return flush()
        }
    }

    private struct Counters: Sendable {
        let hits, misses, bypasses, invalidations, evictions, flushes, touches: Counter

        init(factory: any MetricsFactory) {
            func counter(_ name: String) -> Counter { Counter(label: "authbench_session_cache_\(name)_total", factory: factory) }
            hits = counter("hits")
            misses = counter("misses")
            bypasses = counter("bypasses")
            invalidations = counter("invalidations")
            evictions = counter("evictions")
            flushes = counter("flushes")
            touches = counter("touches")
        }
    }
}

/// A dictionary that holds at most `capacity` values and drops the least recently read or
/// written one to make room. The recency order is a doubly linked list threaded through arrays.
struct LRUDictionary<Value> {
    private struct Node {
        var key: String
        var value: Value
        var newer: Int
        var older: Int
    }

    let capacity: Int
    private var index: [String: Int] = [:]
    private var nodes: [Node] = []
    private var free: [Int] = []
    private var newest = -1
    private var oldest = -1

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { index.count }
    var isEmpty: Bool { index.isEmpty }
    func contains(_ key: String) -> Bool { index[key] != nil }

    /// The value, which becomes the most recently used.
    mutating func get(_ key: String) -> Value? {
        guard let slot = index[key] else { return nil }
        moveToNewest(slot)
        return nodes[slot].value
    }

    /// Stores the value as the most recently used; true when the least recently used made room.
    @discardableResult
    mutating func set(_ key: String, _ value: Value) -> Bool {
        if let slot = index[key] {
            nodes[slot].value = value
            moveToNewest(slot)
            return false
        }
        var evicted = false
        if index.count >= capacity, oldest >= 0 {
            remove(nodes[oldest].key)
            evicted = true
        }
        let node = Node(key: key, value: value, newer: -1, older: newest)
        let slot: Int
        if let reused = free.popLast() {
            nodes[reused] = node
            slot = reused
        } else {
            nodes.append(node)
            slot = nodes.count - 1
        }
        if newest >= 0 { nodes[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
        index[key] = slot
        return evicted
    }

    mutating func remove(_ key: String) {
        guard let slot = index.removeValue(forKey: key) else { return }
        unlink(slot)
        free.append(slot)
    }

    mutating func removeAll() {
        index.removeAll()
        nodes.removeAll()
        free.removeAll()
        newest = -1
        oldest = -1
    }

    /// Keys from the most to the least recently used.
    var keysByRecency: [String] {
        var keys: [String] = []
        var slot = newest
        while slot >= 0 {
            keys.append(nodes[slot].key)
            slot = nodes[slot].older
        }
        return keys
    }

    private mutating func moveToNewest(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        nodes[slot].older = newest
        nodes[slot].newer = -1
        if newest >= 0 { nodes[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let (newer, older) = (nodes[slot].newer, nodes[slot].older)
        if newer >= 0 { nodes[newer].older = older } else { newest = older }
        if older >= 0 { nodes[older].newer = newer } else { oldest = newer }
        nodes[slot].newer = -1
        nodes[slot].older = -1
    }
}
