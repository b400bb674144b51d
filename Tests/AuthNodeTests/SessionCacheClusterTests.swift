import AuthCore
import AuthNode
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import RedisClient
import TCPDelayProxy
import TestSupport
import Testing

/// Nodes with `--session-cache tracking` on a real Redis: whatever changes a session key in
/// Redis, every node stops answering from its memory, and a node whose invalidation feed is
/// lost or stalled reads Redis instead.
@Suite(.sharedRedis) struct SessionCacheClusterTests {
    /// Runs `body` with three live caching nodes sharing one Redis and one key prefix.
    func withThreeCachingNodes(
        redisURL: String? = nil,
        sessionIdleTimeout: Int = NodeConfiguration.Defaults.sessionIdleTimeout,
        _ body: @Sendable ([NodeHarness], [any TestClientProtocol]) async throws -> Void
    ) async throws {
        let prefix = "cache-\(UUID().uuidString):"
        var harnesses: [NodeHarness] = []
        for index in 1...3 {
            harnesses.append(
                try await NodeHarness.make(
                    .redis, redisURL: redisURL, nodeID: "node-\(index)", port: 0, keyPrefix: prefix, sessionIdleTimeout: sessionIdleTimeout,
                    sessionCache: .tracking))
        }
        try await NodeHarness.live(harnesses) { [harnesses] clients in
            for node in harnesses { #expect(try await eventually { node.cache.isCurrent }, "the invalidation feed came up") }
            try await body(harnesses, clients)
        }
    }

    /// Each node answers the session twice, the second time from memory.
    func warm(_ sid: String, _ harnesses: [NodeHarness], _ nodes: [any TestClientProtocol]) async throws {
        for (harness, node) in zip(harnesses, nodes) {
            #expect(try await node.get("/api/me", session: sid).status == .ok)
            #expect(try await node.get("/api/me", session: sid).status == .ok)
            #expect(harness.cache.contains(sid), "\(harness.configuration.nodeID) holds the session in memory")
        }
    }

    func refusedEverywhere(_ sid: String, _ nodes: [any TestClientProtocol]) async throws -> Bool {
        for node in nodes {
            guard try await eventually({ try await node.get("/api/me", session: sid).errorCode == "invalid_session" }) else { return false }
        }
        return true
    }

    @Test func everyWayASessionEndsInRedisReachesEveryNodesMemory() async throws {
        let redisURL = try TestEnvironment.requireRedisURL()
        try await withThreeCachingNodes { harnesses, nodes in
            let keys = harnesses[0].configuration.keys

            let loggedOut = try #require(try await nodes[0].login("writer1", mode: "session").sessionCookie)
            try await warm(loggedOut, harnesses, nodes)
            #expect(try await nodes[2].post("/auth/logout", session: loggedOut).status == .noContent)
            #expect(try await refusedEverywhere(loggedOut, nodes), "logout on node 3")

            let first = try #require(try await nodes[0].login("writer1", mode: "session").sessionCookie)
            let second = try #require(try await nodes[1].login("writer1", mode: "session").sessionCookie)
            try await warm(first, harnesses, nodes)
            try await warm(second, harnesses, nodes)
            #expect(try await nodes[0].post("/auth/logout-all", session: first).status == .noContent)
            #expect(try await refusedEverywhere(second, nodes), "logout-all on node 1")

            let deleted = try #require(try await nodes[0].login("writer1", mode: "session").sessionCookie)
            try await warm(deleted, harnesses, nodes)
            try await withRedisClient(url: redisURL) { (redis) async throws in
                #expect(try await redis.del(keys.session(OpaqueSecret.storageKey(of: deleted))) == 1)
            }
            #expect(try await refusedEverywhere(deleted, nodes), "an operator's DEL")

            // A change to the TTL alone is a change too.
            let shortened = try #require(try await nodes[0].login("writer1", mode: "session").sessionCookie)
            try await warm(shortened, harnesses, nodes)
            try await withRedisClient(url: redisURL) { (redis) async throws in
                #expect(try await redis.send(RedisCommand("PEXPIRE", keys.session(OpaqueSecret.storageKey(of: shortened)), "600000")).integer == 1)
            }
            for harness in harnesses {
                #expect(try await eventually { !harness.cache.contains(shortened) }, "a PEXPIRE reached \(harness.configuration.nodeID)")
            }
        }
    }

    /// Idle sessions end in Redis by themselves; no node answers one after Redis dropped it.
    @Test func aSessionThatExpiresInRedisIsRefusedByEveryNode() async throws {
        let redisURL = try TestEnvironment.requireRedisURL()
        try await withThreeCachingNodes(sessionIdleTimeout: 2) { harnesses, nodes in
            let sid = try #require(try await nodes[0].login("writer1", mode: "session").sessionCookie)
            try await warm(sid, harnesses, nodes)
            let key = harnesses[0].configuration.keys.session(OpaqueSecret.storageKey(of: sid))
            try await withRedisClient(url: redisURL) { (redis) async throws in
                #expect(try await eventually { try await redis.send(RedisCommand("EXISTS", key)).integer == 0 }, "Redis expired it")
            }
            for node in nodes {
                #expect(try await node.get("/api/me", session: sid).errorCode == "invalid_session")
            }
        }
    }

    @Test(.ownRedisServer) func anEvictionOrAFlushInRedisReachesEveryNodesMemory() async throws {
        try await RedisServerProcess.with { (server) async throws in
            try await withThreeCachingNodes(redisURL: server.url) { harnesses, nodes in
                let evicted = try #require(try await nodes[0].login("writer1", mode: "session").sessionCookie)
                try await warm(evicted, harnesses, nodes)
                try await withRedisClient(url: server.url) { (redis) async throws in
                    // Only keys with a TTL may go (the users stay), and every write must make room.
                    _ = try await redis.send(RedisCommand("CONFIG", "SET", "maxmemory-policy", "volatile-ttl"))
                    _ = try await redis.send(RedisCommand("CONFIG", "SET", "maxmemory", "1"))
                    _ = try? await redis.send(RedisCommand("SET", "filler", "x"))
                    _ = try await redis.send(RedisCommand("CONFIG", "SET", "maxmemory", "0"))
                    let stats = try #require(try await redis.send(RedisCommand("INFO", "stats")).string)
                    let evictedKeys = stats.split(separator: "\r\n").first { $0.hasPrefix("evicted_keys:") }?.dropFirst(13)
                    #expect(Int(evictedKeys ?? "0") ?? 0 >= 1, "Redis evicted the session")
                }
                #expect(try await refusedEverywhere(evicted, nodes), "eviction")

                let flushed = try #require(try await nodes[0].login("writer1", mode: "session").sessionCookie)
                try await warm(flushed, harnesses, nodes)
                try await withRedisClient(url: server.url) { (redis) async throws in _ = try await redis.send(RedisCommand("FLUSHDB")) }
                #expect(try await refusedEverywhere(flushed, nodes), "FLUSHDB")
            }
        }
    }

    @Test(.ownRedisServer) func aKilledInvalidationConnectionEmptiesTheMemoryUntilItIsBack() async throws {
        try await RedisServerProcess.with { (server) async throws in
            let harness = try await NodeHarness.make(.redis, redisURL: server.url, sessionCache: .tracking)
            try await harness.test(.router) { client in
                let sid = try #require(try await client.login("writer1", mode: "session").sessionCookie)
                #expect(try await eventually { harness.cache.isCurrent })
                try await warm(sid, [harness], [client])
                let flushesBefore = harness.metric("authbench_session_cache_flushes_total")

                try await withRedisClient(url: server.url) { (redis) async throws in
                    #expect(try await redis.send(RedisCommand("CLIENT", "KILL", "TYPE", "pubsub")).integer ?? 0 >= 1)
                }
                #expect(try await eventually { harness.metric("authbench_session_cache_flushes_total") > flushesBefore })
                #expect(!harness.cache.contains(sid), "emptied when the feed was lost")

                // Back: answered from memory again, and a change is heard again.
                #expect(try await eventually { harness.cache.isCurrent })
                try await warm(sid, [harness], [client])
                try await withRedisClient(url: server.url) { (redis) async throws in
                    _ = try await redis.del(harness.configuration.keys.session(OpaqueSecret.storageKey(of: sid)))
                }
                #expect(try await refusedEverywhere(sid, [client]))
            }
        }
    }

    /// The feed's connection stays open but delivers nothing (the proxy holds its bytes): past
    /// the staleness bound the node must read Redis, so a session deleted meanwhile, whose
    /// invalidation is stuck, is refused on the very next request.
    @Test(.ownRedisServer) func aStalledInvalidationFeedIsNeverTrusted() async throws {
        try await RedisServerProcess.with { (server) async throws in
            let proxy = DelayProxy(upstreamHost: "127.0.0.1", upstreamPort: server.port, delay: .init(base: .zero))
            let listener = try await proxy.listen(host: "127.0.0.1", port: 0)
            defer { listener.close(promise: nil) }
            let port = try #require(listener.localAddress?.port)
            let harness = try await NodeHarness.make(
                .redis, redisURL: "redis://127.0.0.1:\(port)", sessionCache: .tracking, sessionCacheMaxStaleness: .milliseconds(500))
            try await harness.test(.router) { client in
                let sid = try #require(try await client.login("writer1", mode: "session").sessionCookie)
                #expect(try await eventually { harness.cache.isCurrent })
                try await warm(sid, [harness], [client])

                proxy.isFeedStalled = true
                #expect(try await eventually { !harness.cache.isCurrent }, "the silent feed went stale")
                #expect(try await client.get("/api/me", session: sid).status == .ok, "served from Redis")
                #expect(!harness.cache.contains(sid), "emptied once stale")
                try await withRedisClient(url: server.url) { (redis) async throws in
                    #expect(try await redis.del(harness.configuration.keys.session(OpaqueSecret.storageKey(of: sid))) == 1)
                }
                #expect(try await client.get("/api/me", session: sid).errorCode == "invalid_session", "refused on the next request")

                proxy.isFeedStalled = false
                #expect(try await eventually { harness.cache.isCurrent }, "the feed came back")
                let again = try #require(try await client.login("writer1", mode: "session").sessionCookie)
                try await warm(again, [harness], [client])
            }
        }
    }

    /// The idle expiry is pushed out in Redis only once a touch interval has passed since Redis
    /// last set it, and once, however many requests come meanwhile.
    @Test func aSessionsIdleExpiryIsRenewedAtMostOncePerTouchInterval() async throws {
        let configuration = try RedisConfiguration(url: TestEnvironment.requireRedisURL())
        let keys = RedisKeys(prefix: "touch-\(UUID().uuidString):")
        let registry = PrometheusCollectorRegistry()
        let clock = ManualClock(Date().timeIntervalSince1970)
        let cache = SessionCache(capacity: 10, maxStaleness: .seconds(5), metricsFactory: PrometheusMetricsFactory(registry: registry))
        try await withRedisClient(configuration) { (redis) async throws in
            let sync = SessionCacheSync(configuration: configuration, redis: redis, keys: keys, cache: cache, idleTimeout: 60, logger: Logger(label: "test"))
            let store = CachedSessionStore(redis: redis, keys: keys, cache: cache, clock: clock, touchInterval: 10)
            let sessions = Sessions(store: store, clock: clock, idleTimeout: 60, absoluteLifetime: 3_600)
            func touches() -> Double { metric("authbench_session_cache_touches_total", in: registry) }

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await sync.run() }
                defer { group.cancelAll() }
                #expect(try await eventually { cache.isCurrent })
                let id = try await sessions.start(for: UserClaims(sub: "u1", name: "User One", role: .reader))
                let key = keys.session(OpaqueSecret.storageKey(of: id))
                for _ in 0..<20 { #expect(try await sessions.resume(id: id) != nil) }
                #expect(touches() == 0, "a fresh TTL is not renewed")

                clock.advance(by: 9)
                for _ in 0..<20 { #expect(try await sessions.resume(id: id) != nil) }
                #expect(touches() == 0, "within the interval: no renewal")

                // Redis's TTL is still 60 s of real time; shorten it to what it would be 30 s later.
                _ = try await redis.send(RedisCommand("PEXPIRE", key, "30000"))
                #expect(try await eventually { cache.count == 0 }, "the change was heard")
                for _ in 0..<20 { #expect(try await sessions.resume(id: id) != nil) }
                #expect(touches() == 1, "one renewal for twenty requests")
                #expect(try await eventually { (try await redis.send(RedisCommand("PTTL", key)).integer ?? 0) > 50_000 }, "the TTL was pushed out")
                for _ in 0..<20 { #expect(try await sessions.resume(id: id) != nil) }
                #expect(touches() == 1, "the renewed TTL is not renewed again")
            }
        }
    }
}

func metric(_ name: String, in registry: PrometheusCollectorRegistry) -> Double {
    let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
    for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.split(separator: " ").last ?? "") ?? 0
    }
    return 0
}

extension NodeHarness {
    var cache: SessionCache { backend.sessionCache! }

    func metric(_ name: String) -> Double { AuthNodeTests.metric(name, in: metricsRegistry) }
}

extension SessionCache {
    /// Holds the session with this id (read without counting a hit or a miss).
    func contains(_ sid: String) -> Bool { holds(OpaqueSecret.storageKey(of: sid)) }
}
