@testable import AuthCore
import NIOCore
import Testing

@Suite struct LRUDictionaryTests {
    @Test func theLeastRecentlyUsedLeavesFirst() {
        var lru = LRUDictionary<Int>(capacity: 3)
        let evictedWhileFilling = [lru.set("a", 1), lru.set("b", 2), lru.set("c", 3)]
        #expect(evictedWhileFilling == [false, false, false])
        let a = lru.get("a")
        #expect(a == 1, "a read makes a the most recently used")
        let evicted = lru.set("d", 4)
        #expect(evicted, "a fourth entry evicts one")
        let b = lru.get("b")
        #expect(b == nil, "b was the least recently used")
        #expect(lru.count == 3)
        #expect(lru.keysByRecency == ["d", "a", "c"])
        let rewrote = lru.set("c", 30)
        #expect(!rewrote, "rewriting a key evicts nothing")
        #expect(lru.keysByRecency == ["c", "d", "a"])
        lru.remove("d")
        #expect(lru.keysByRecency == ["c", "a"])
    }

    @Test func staysWithinItsCapacityThroughManyWrites() {
        var lru = LRUDictionary<Int>(capacity: 100)
        var evictions = 0
        var removed = 0
        for index in 0..<10_000 {
            if lru.set("key-\(index)", index) { evictions += 1 }
            if index % 3 == 0 { _ = lru.get("key-\(index / 2)") }
            if index % 7 == 0, lru.contains("key-\(index - 1)") {
                lru.remove("key-\(index - 1)")
                removed += 1
            }
            #expect(lru.count <= 100)
        }
        #expect(evictions + removed + lru.count == 10_000, "every key written is held, removed or evicted")
        #expect(lru.keysByRecency.count == lru.count)
        #expect(Set(lru.keysByRecency).count == lru.count, "no key twice in the recency list")
        let newest = lru.get("key-9999")
        #expect(newest == 9999)
    }
}

@Suite struct SessionCacheTests {
    let session = StoredSession(user: UserClaims(sub: "u1", name: "User One", role: .reader), created: 1_000, absoluteExpiry: 2_000)

    func liveCache(capacity: Int = 10, maxStaleness: TimeAmount = .seconds(60)) -> SessionCache {
        let cache = SessionCache(capacity: capacity, maxStaleness: maxStaleness)
        cache.feedStarted(at: .now())
        return cache
    }

    func fill(_ cache: SessionCache, _ idHash: String, idleExpiry: Double = 1_500) throws {
        let fetch = try #require(cache.beginFetch(idHash))
        cache.endFetch(fetch, SessionCache.Entry(session: session, idleExpiry: idleExpiry))
    }

    @Test func answersNothingBeforeItsFeedIsUp() {
        let cache = SessionCache(capacity: 10, maxStaleness: .seconds(60))
        #expect(cache.beginFetch("a") == nil, "no feed: read Redis the uncached way")
        #expect(cache.lookup("a", now: 1_100) == nil)
    }

    @Test func keepsWhatItReadAndDropsItPastTheIdleExpiry() throws {
        let cache = liveCache()
        try fill(cache, "a", idleExpiry: 1_500)
        #expect(cache.lookup("a", now: 1_100)?.session == session)
        #expect(cache.lookup("a", now: 1_500) == nil, "past the idle expiry Redis holds for it")
        #expect(cache.count == 0)
    }

    @Test func anInvalidationDuringARedisReadKeepsTheReadOutOfTheCache() throws {
        let cache = liveCache()
        let fetch = try #require(cache.beginFetch("a"))
        cache.invalidate(["a"])
        cache.endFetch(fetch, SessionCache.Entry(session: session, idleExpiry: 1_500))
        #expect(cache.lookup("a", now: 1_100) == nil)

        // The next read, with no invalidation in between, is kept.
        try fill(cache, "a")
        #expect(cache.lookup("a", now: 1_100) != nil)
    }

    @Test func aFlushDuringARedisReadKeepsTheReadOutOfTheCache() throws {
        let cache = liveCache()
        let fetch = try #require(cache.beginFetch("a"))
        cache.flush()
        cache.endFetch(fetch, SessionCache.Entry(session: session, idleExpiry: 1_500))
        #expect(cache.lookup("a", now: 1_100) == nil)
    }

    @Test func aLostFeedEmptiesTheCacheUntilItIsBack() throws {
        let cache = liveCache()
        try fill(cache, "a")
        let inFlight = try #require(cache.beginFetch("b"))
        cache.feedLost()
        #expect(cache.count == 0)
        #expect(!cache.isCurrent)
        #expect(cache.beginFetch("c") == nil)
        cache.endFetch(inFlight, SessionCache.Entry(session: session, idleExpiry: 1_500))
        #expect(cache.count == 0, "a read begun before the loss is not kept")

        cache.feedStarted(at: .now())
        try fill(cache, "a")
        #expect(cache.lookup("a", now: 1_100) != nil)
    }

    /// No confirmation comes, so once the bound has passed the feed can only be stale.
    @Test func aFeedLeftUnconfirmedPastTheBoundEmptiesTheCache() async throws {
        let cache = liveCache(maxStaleness: .milliseconds(500))
        try fill(cache, "a")
        try await Task.sleep(for: .milliseconds(600))
        #expect(!cache.isCurrent)
        #expect(cache.lookup("a", now: 1_100) == nil)
        #expect(cache.count == 0, "the stale cache was emptied")
        cache.feedConfirmed(upTo: .now())
        #expect(cache.isCurrent, "a confirmation makes the feed current again")
    }

    @Test func holdsAtMostItsCapacity() throws {
        let cache = liveCache(capacity: 2)
        try fill(cache, "a")
        try fill(cache, "b")
        #expect(cache.lookup("a", now: 1_100) != nil)
        try fill(cache, "c")
        #expect(cache.count == 2)
        #expect(cache.lookup("b", now: 1_100) == nil, "b was the least recently used")
        #expect(cache.lookup("a", now: 1_100) != nil)
    }

    @Test func asksForOneTouchAtATimePerSession() async throws {
        let cache = liveCache()
        cache.requestTouch("a")
        cache.requestTouch("a")
        cache.requestTouch("b")
        var touches = cache.touches.makeAsyncIterator()
        #expect(await touches.next() == "a")
        #expect(await touches.next() == "b")
        try fill(cache, "a")
        cache.touchFinished("a")
        #expect(!cache.holds("a"), "a finished touch drops the entry whose TTL it changed")
        cache.requestTouch("a")
        #expect(await touches.next() == "a", "a finished touch can be asked for again")
    }
}
