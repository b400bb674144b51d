import AuthCore
import Foundation
import Logging
import RedisClient
import TestSupport
import Testing

/// What the Redis stores leave behind: per-user lists that shrink when their entries expire,
/// a revocation set pruned as it is written, and a logout-all no concurrent login escapes.
@Suite(.sharedRedis) struct RedisStateTests {
    static let user = UserClaims(sub: "u-state", name: "State", role: .reader)

    /// A client with a command timeout no busy machine reaches, and a fresh key prefix.
    static func withRedis(_ body: (RedisClient, RedisKeys) async throws -> Void) async throws {
        var configuration = try RedisConfiguration(url: TestEnvironment.requireRedisURL())
        configuration.commandTimeout = .seconds(10)
        let redis = RedisClient(configuration: configuration)
        let keys = RedisKeys(prefix: "state-\(UUID().uuidString):")
        do {
            try await body(redis, keys)
            await redis.shutdown()
        } catch {
            await redis.shutdown()
            throw error
        }
    }

    static func members(_ key: String, _ redis: RedisClient) async throws -> Set<String> {
        Set(try await redis.smembers(key).map { String(decoding: $0, as: UTF8.self) })
    }

    @Test func aNewSessionDropsTheUsersExpiredOnesFromItsList() async throws {
        try await Self.withRedis { redis, keys in
            let store = RedisSessionStore(redis: redis, keys: keys)
            let session = StoredSession(user: Self.user, created: 0, absoluteExpiry: Int64.max / 2)
            for hash in ["a", "b", "c"] { try await store.insert(session, idHash: hash, idleTimeout: 600) }
            // Sessions "a" and "b" expire (their keys go, as their TTL would make them go).
            try await redis.del([keys.session("a"), keys.session("b")])
            #expect(try await Self.members(keys.userSessions(Self.user.sub), redis) == ["a", "b", "c"])
            try await store.insert(session, idHash: "d", idleTimeout: 600)
            #expect(try await Self.members(keys.userSessions(Self.user.sub), redis) == ["c", "d"])
        }
    }

    /// A role change rewrites only the role of each of the user's sessions: the rest of the
    /// record, however its strings are escaped, and the idle TTL stay as they were.
    @Test func aRoleChangeRewritesEachSessionsRoleAndKeepsItsTTL() async throws {
        try await Self.withRedis { redis, keys in
            let store = RedisSessionStore(redis: redis, keys: keys)
            let awkward = UserClaims(sub: Self.user.sub, name: #"Zoë "role":"admin" \ /x"#, role: .writer)
            let session = StoredSession(user: awkward, created: 1_764_850_000, absoluteExpiry: 1_764_893_200)
            try await store.insert(session, idHash: "a", idleTimeout: 600)
            try await store.insert(session, idHash: "b", idleTimeout: 900)
            try await store.insert(StoredSession(user: UserClaims(sub: "someone-else", name: "Else", role: .writer), created: 0, absoluteExpiry: 1),
                                   idHash: "c", idleTimeout: 600)
            try await redis.del([keys.session("b")])

            #expect(try await store.changeRole(uid: Self.user.sub, to: .reader) == 1)
            guard case .seconds(let ttl) = try await redis.ttl(keys.session("a")) else { Issue.record("the session lost its TTL"); return }
            #expect((590...600).contains(ttl), "TTL \(ttl)")
            var demoted = session
            demoted.user.role = .reader
            #expect(try await store.fetchSliding(idHash: "a", idleTimeout: 600) == demoted)
            #expect(try await Self.members(keys.userSessions(Self.user.sub), redis) == ["a"])
            #expect(try await store.fetchSliding(idHash: "c", idleTimeout: 600)?.user.role == .writer)
        }
    }

    @Test func logoutAllEndsEverySessionAndTheListInBatches() async throws {
        try await Self.withRedis { redis, keys in
            let store = RedisSessionStore(redis: redis, keys: keys)
            let session = StoredSession(user: Self.user, created: 0, absoluteExpiry: Int64.max / 2)
            // More than one batch of the script's 500.
            let hashes = (0..<1_200).map { "h\($0)" }
            for hash in hashes { try await store.insert(session, idHash: hash, idleTimeout: 600) }
            #expect(try await Self.members(keys.userSessions(Self.user.sub), redis).count == 1_200)
            try await store.removeAll(uid: Self.user.sub)
            #expect(try await Self.members(keys.userSessions(Self.user.sub), redis).isEmpty)
            for hash in [hashes[0], hashes[499], hashes[500], hashes[1_199]] {
                #expect(try await redis.get(keys.session(hash)) == nil, "\(hash) survived logout-all")
            }
        }
    }

    /// A session written while logout-all runs either is ended by it or is listed for the next one.
    @Test func noSessionStartedDuringLogoutAllIsLeftOffTheList() async throws {
        try await Self.withRedis { redis, keys in
            let store = RedisSessionStore(redis: redis, keys: keys)
            let session = StoredSession(user: Self.user, created: 0, absoluteExpiry: Int64.max / 2)
            for trial in 0..<200 {
                let hash = "race\(trial)"
                try await store.insert(session, idHash: "old\(trial)", idleTimeout: 600)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await store.insert(session, idHash: hash, idleTimeout: 600) }
                    group.addTask { try await store.removeAll(uid: Self.user.sub) }
                    try await group.waitForAll()
                }
                if try await redis.get(keys.session(hash)) != nil {
                    #expect(try await Self.members(keys.userSessions(Self.user.sub), redis).contains(hash), "trial \(trial): a live session no logout-all would end")
                }
                #expect(try await redis.get(keys.session("old\(trial)")) == nil)
            }
        }
    }

    /// A renewed family lives on under its new id: its live token rotates into it, a logout
    /// with the old id (an access token issued before the renewal) ends it, and only live
    /// families are renewed.
    @Test(arguments: [false, true])
    func aRenewedFamilyIsTheSameLoginUnderANewID(_ logoutWithTheOldID: Bool) async throws {
        try await Self.withRedis { redis, keys in
            let store = RedisRefreshTokenStore(redis: redis, keys: keys)
            _ = try await store.startFamily("f1", uid: Self.user.sub, tokenHash: "t1", lifetime: 600, familyLifetime: 6_000)
            _ = try await store.startFamily("f2", uid: Self.user.sub, tokenHash: "t2", lifetime: 600, familyLifetime: 6_000)
            try await store.revokeFamily("f2")
            #expect(try await store.renewFamilies(uid: Self.user.sub, salt: "salt") == ["f1"])
            let families = try await Self.members(keys.userFamilies(Self.user.sub), redis)
            let renewed = try #require(families.subtracting(["f2"]).first)
            #expect(families.count == 2 && renewed != "f1" && renewed.count == 22)
            guard case .seconds(let ttl) = try await redis.ttl(keys.refreshFamily(renewed)) else { Issue.record("no TTL on \(renewed)"); return }
            #expect((590...600).contains(ttl))
            if logoutWithTheOldID {
                try await store.revokeFamily("f1")
                #expect(try await store.rotate(tokenHash: "t1", newTokenHash: "t1b", lifetime: 600) == .invalid)
            } else {
                #expect(try await store.rotate(tokenHash: "t1", newTokenHash: "t1b", lifetime: 600) == .rotated(uid: Self.user.sub, family: renewed, expiresIn: 600))
                #expect(try await store.rotate(tokenHash: "t1", newTokenHash: "t1c", lifetime: 600) == .reuseDetected(uid: Self.user.sub, family: renewed))
                #expect(try await store.rotate(tokenHash: "t1b", newTokenHash: "t1d", lifetime: 600) == .invalid)
            }
        }
    }

    @Test func aNewFamilyDropsTheUsersExpiredFamiliesFromItsList() async throws {
        try await Self.withRedis { redis, keys in
            let store = RedisRefreshTokenStore(redis: redis, keys: keys)
            for family in ["f1", "f2", "f3"] {
                _ = try await store.startFamily(family, uid: Self.user.sub, tokenHash: "t-\(family)", lifetime: 600, familyLifetime: 6_000)
            }
            try await redis.del([keys.refreshFamily("f1"), keys.refreshFamily("f3")])
            #expect(try await Self.members(keys.userFamilies(Self.user.sub), redis) == ["f1", "f2", "f3"])
            _ = try await store.startFamily("f4", uid: Self.user.sub, tokenHash: "t-f4", lifetime: 600, familyLifetime: 6_000)
            #expect(try await Self.members(keys.userFamilies(Self.user.sub), redis) == ["f2", "f4"])
            #expect(Set(try await store.revokeAllFamilies(uid: Self.user.sub)) == ["f2", "f4"])
            #expect(try await Self.members(keys.userFamilies(Self.user.sub), redis).isEmpty)
        }
    }

    @Test func publishingARevocationPrunesTheEntriesPastTheirTime() async throws {
        try await Self.withRedis { redis, keys in
            let store = RedisRevocationStore(redis: redis, keys: keys, logger: .init(label: "test"))
            let now = Int64(Date().timeIntervalSince1970)
            _ = try await redis.zadd(keys.revoked, members: [(Double(now - 60), "jti:long-gone"), (Double(now + 600), "jti:in-force")])
            try await store.publish(Revocation(.family("fresh"), until: now + 600))
            let members = Set(try await redis.zrangebyscore(keys.revoked, min: .negativeInfinity, max: .positiveInfinity).map { String(decoding: $0, as: UTF8.self) })
            #expect(members == ["jti:in-force", "family:fresh"])
        }
    }
}
