import Foundation
import Logging
import NIOCore
import RedisClient
import ServiceLifecycle

/// Sessions in Redis, answered from this node's `SessionCache` when it can. Writes go to Redis
/// as in `RedisSessionStore` (their invalidations reach every node's cache); a read that misses
/// takes the session and its remaining TTL without changing the key (a GETEX would invalidate
/// every other node's copy); the idle expiry is pushed out at most once per `touchInterval`,
/// off the request's path, so a session can end up to one interval early, never late. While
/// the cache is not current every read is the uncached GETEX.
public struct CachedSessionStore: SessionStore {
    /// Every write, and every read while the cache is not current.
    let uncached: RedisSessionStore
    public let cache: SessionCache
    let clock: any AuthClock
    /// Seconds between two renewals of a session's idle expiry.
    public let touchInterval: Int

    public init(redis: RedisClient, keys: RedisKeys, cache: SessionCache, clock: any AuthClock, touchInterval: Int) {
        self.uncached = RedisSessionStore(redis: redis, keys: keys)
        self.cache = cache
        self.clock = clock
        self.touchInterval = touchInterval
    }

    /// The session and its remaining TTL in milliseconds, in one round trip and no write.
    static let readScript = RedisScript("""
        -- KEYS: session
        local json = redis.call('GET', KEYS[1])
        if not json then return false end
        return {json, redis.call('PTTL', KEYS[1])}
        """)

    public func insert(_ session: StoredSession, idHash: String, idleTimeout: Int) async throws {
        try await uncached.insert(session, idHash: idHash, idleTimeout: idleTimeout)
    }

    public func fetchSliding(idHash: String, idleTimeout: Int) async throws -> StoredSession? {
        let now = clock.now()
        if let entry = cache.lookup(idHash, now: now) {
            touchIfDue(idHash, entry, now: now, idleTimeout: idleTimeout)
            return entry.session
        }
        guard let fetch = cache.beginFetch(idHash) else {
            return try await uncached.fetchSliding(idHash: idHash, idleTimeout: idleTimeout)
        }
        let entry: SessionCache.Entry?
        do {
            entry = try await read(idHash, now: now)
        } catch {
            cache.endFetch(fetch, nil)
            throw error
        }
        cache.endFetch(fetch, entry)
        guard let entry else { return nil }
        touchIfDue(idHash, entry, now: now, idleTimeout: idleTimeout)
        return entry.session
    }

    private func read(_ idHash: String, now: Double) async throws -> SessionCache.Entry? {
        let reply = try await uncached.redis.evalScript(Self.readScript, keys: [uncached.keys.session(idHash)])
        guard let parts = reply.array, parts.count == 2, let json = parts[0].bytes, let milliseconds = parts[1].integer,
            let session = StoredSession.decode(json)
        else { return nil }
        // A key without a TTL (-1) was not written by a node; it lives until it is deleted.
        let idleExpiry = milliseconds >= 0 ? now + Double(milliseconds) / 1000 : .infinity
        return SessionCache.Entry(session: session, idleExpiry: idleExpiry)
    }

    /// The TTL was last set to `idleTimeout` at `idleExpiry - idleTimeout`, by whichever node.
    private func touchIfDue(_ idHash: String, _ entry: SessionCache.Entry, now: Double, idleTimeout: Int) {
        guard entry.idleExpiry - now <= Double(idleTimeout - touchInterval) else { return }
        cache.requestTouch(idHash)
    }

    public func remove(idHash: String, uid: String) async throws {
        try await uncached.remove(idHash: idHash, uid: uid)
    }

    public func removeAll(uid: String) async throws {
        try await uncached.removeAll(uid: uid)
    }

    public func changeRole(uid: String, to role: Role) async throws -> Int {
        try await uncached.changeRole(uid: uid, to: role)
    }
}

/// Keeps a node's `SessionCache` true: a connection of its own tracks every session key
/// (`RedisSubscriber` with the session prefix) and removes what changed; the cache is emptied
/// when that connection (re)starts or is lost, and answers only while the connection was
/// confirmed complete within the cache's `maxStaleness`. It also sends the idle-expiry touches
/// the store asks for, one at a time.
public final class SessionCacheSync: Service {
    private let subscriber: RedisSubscriber
    private let cache: SessionCache
    private let redis: RedisClient
    private let keys: RedisKeys
    private let idleTimeout: Int
    private let logger: Logger

    public init(configuration: RedisConfiguration, redis: RedisClient, keys: RedisKeys, cache: SessionCache, idleTimeout: Int, logger: Logger) {
        self.subscriber = RedisSubscriber(
            configuration: configuration, channels: [], trackingPrefixes: [keys.session("")],
            pingInterval: RedisSubscriber.pingInterval(forStaleness: cache.maxStaleness), logger: logger)
        self.cache = cache
        self.redis = redis
        self.keys = keys
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.subscriber.run() }
            group.addTask { await self.sendTouches() }
            let prefix = Array(keys.session("").utf8)
            var feedDown = false
            for await event in subscriber.events {
                switch event {
                case .subscribed:
                    cache.feedStarted(at: .now())
                    if feedDown { logger.info("session invalidations back: the session cache is in use again") }
                    feedDown = false
                case .invalidated(let keys?):
                    cache.invalidate(keys.compactMap { key in
                        key.starts(with: prefix) ? String(decoding: key[prefix.count...], as: UTF8.self) : nil
                    })
                case .invalidated(nil):
                    cache.flush()
                case .confirmed(let upTo):
                    cache.feedConfirmed(upTo: upTo)
                case .disconnected(let error):
                    cache.feedLost()
                    if !feedDown {
                        feedDown = true
                        logger.warning(
                            "session invalidations lost: the session cache is emptied and sessions are read from Redis until they are back",
                            metadata: ["error": "\(error)"])
                    }
                case .message:
                    break
                }
            }
            // The feed ended (shutdown): stop touching too.
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    private func sendTouches() async {
        for await idHash in cache.touches {
            if Task.isCancelled { return }
            do {
                _ = try await redis.expire(keys.session(idHash), seconds: idleTimeout)
            } catch {
                logger.debug("session touch failed", metadata: ["error": "\(error)"])
            }
            cache.touchFinished(idHash)
        }
    }
}
