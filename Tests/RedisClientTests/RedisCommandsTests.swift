import RedisClient
import TestSupport
import Testing

@Suite(.sharedRedis) struct RedisCommandsTests {
    @Test func pingGetSetDel() async throws {
        try await withSharedRedisClient { (redis) async throws in
            #expect(try await redis.ping() == "PONG")
            let key = uniqueKey()
            #expect(try await redis.get(key) == nil)
            #expect(try await redis.set(key, to: "hello"))
            #expect(try await redis.get(key) == Array("hello".utf8))
            #expect(try await redis.del(key, uniqueKey()) == 1)
            #expect(try await redis.get(key) == nil)
        }
    }

    @Test func setConditionsAndExpiry() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let key = uniqueKey()
            #expect(try await redis.set(key, to: "a", condition: .ifExists) == false)
            #expect(try await redis.set(key, to: "a", expiration: .seconds(100), condition: .ifNotExists))
            #expect(try await redis.set(key, to: "b", condition: .ifNotExists) == false)
            #expect(try await redis.get(key) == Array("a".utf8))
            guard case .seconds(let seconds) = try await redis.ttl(key) else {
                Issue.record("SET EX left no expiry")
                return
            }
            #expect((90...100).contains(seconds), "about 100 s left (a busy machine may take seconds to get here)")
            #expect(try await redis.set(key, to: "c", expiration: .milliseconds(50_000), condition: .ifExists))
            #expect(try await redis.get(key) == Array("c".utf8))
            guard case .seconds(let after) = try await redis.ttl(key) else {
                Issue.record("SET PX left no expiry")
                return
            }
            #expect((40...50).contains(after), "about 50 s left (a busy machine may take seconds to get here)")
        }
    }

    @Test func getexSlidesTheExpiry() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let key = uniqueKey()
            #expect(try await redis.getex(key, expiration: .seconds(10)) == nil)
            try await redis.set(key, to: "session", expiration: .seconds(5))
            #expect(try await redis.getex(key, expiration: .seconds(300)) == Array("session".utf8))
            let slid = try await redis.ttl(key)
            guard case .seconds(let slidSeconds) = slid else {
                Issue.record("no TTL after GETEX: \(slid)")
                return
            }
            #expect((290...300).contains(slidSeconds), "GETEX set the TTL to 300 s (a busy machine may take seconds to get here)")
            #expect(try await redis.getex(key, expiration: .milliseconds(1_000_000)) == Array("session".utf8))
            guard case .seconds(let seconds) = try await redis.ttl(key) else {
                Issue.record("GETEX PX left no expiry")
                return
            }
            #expect((990...1000).contains(seconds), "1,000 s, given in milliseconds (a busy machine may take seconds to get here)")
        }
    }

    @Test func expireAndTTL() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let key = uniqueKey()
            #expect(try await redis.ttl(key) == .keyMissing)
            #expect(try await redis.expire(key, seconds: 10) == false)
            try await redis.set(key, to: "x")
            #expect(try await redis.ttl(key) == .noExpiry)
            #expect(try await redis.expire(key, seconds: 42))
            let ttl = try await redis.ttl(key)
            guard case .seconds(let ttlSeconds) = ttl else {
                Issue.record("no TTL after EXPIRE: \(ttl)")
                return
            }
            #expect((32...42).contains(ttlSeconds), "EXPIRE set 42 s (a busy machine may take seconds to get here)")
        }
    }

    @Test func hashes() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let key = uniqueKey()
            #expect(try await redis.hgetall(key).isEmpty)
            #expect(try await redis.hset(key, fields: [("uid", "u1"), ("role", "writer"), ("bin", [0, 13, 10] as [UInt8])]) == 3)
            #expect(try await redis.hset(key, fields: [("role", "admin"), ("name", "Ann")]) == 1)
            #expect(try await redis.hget(key, field: "role") == Array("admin".utf8))
            #expect(try await redis.hget(key, field: "missing") == nil)
            #expect(try await redis.hgetall(key) == [
                "uid": Array("u1".utf8), "role": Array("admin".utf8), "bin": [0, 13, 10], "name": Array("Ann".utf8),
            ])
        }
    }

    @Test func sets() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let key = uniqueKey()
            #expect(try await redis.sadd(key, members: ["a", "b", "c"]) == 3)
            #expect(try await redis.sadd(key, members: ["c", "d"]) == 1)
            #expect(try await redis.srem(key, members: ["a", "zz"]) == 1)
            let members = Set(try await redis.smembers(key).map { String(decoding: $0, as: UTF8.self) })
            #expect(members == ["b", "c", "d"])
            #expect(try await redis.smembers(uniqueKey()).isEmpty)
        }
    }

    @Test func sortedSets() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let key = uniqueKey()
            #expect(try await redis.zadd(key, members: [(10, "jti-a"), (20, "jti-b"), (30, "jti-c"), (1.5, "jti-d")]) == 4)
            #expect(try await redis.zadd(key, members: [(40, "jti-a")]) == 0)
            let middle = try await redis.zrangebyscore(key, min: .inclusive(20), max: .exclusive(40))
            #expect(middle.map { String(decoding: $0, as: UTF8.self) } == ["jti-b", "jti-c"])
            let all = try await redis.zrangebyscoreWithScores(key, min: .negativeInfinity, max: .positiveInfinity)
            #expect(all.map(\.score) == [1.5, 20, 30, 40])
            #expect(all.map { String(decoding: $0.member, as: UTF8.self) } == ["jti-d", "jti-b", "jti-c", "jti-a"])
            #expect(try await redis.zremrangebyscore(key, min: .negativeInfinity, max: .inclusive(20)) == 2)
            #expect(try await redis.zrangebyscore(key, min: .negativeInfinity, max: .positiveInfinity).count == 2)
        }
    }

    @Test func incrAndPublish() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let key = uniqueKey()
            #expect(try await redis.incr(key) == 1)
            #expect(try await redis.incr(key) == 2)
            #expect(try await redis.publish(uniqueKey(), message: "nobody listens") == 0)
        }
    }

    @Test func errorRepliesBecomeTypedErrorsWithRedisMessage() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let key = uniqueKey()
            try await redis.set(key, to: "not a number")
            await #expect {
                try await redis.incr(key)
            } throws: { error in
                guard case .server(let message) = error as? RedisError else { return false }
                return message.hasPrefix("ERR value is not an integer")
            }
            await #expect {
                try await redis.sadd(key, members: ["x"])
            } throws: { error in
                (error as? RedisError)?.serverErrorCode == "WRONGTYPE"
            }
            // The connection stays usable after error replies.
            #expect(try await redis.get(key) == Array("not a number".utf8))
        }
    }

    @Test func binarySafeValuesWithNULAndCRLF() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let key = uniqueKey()
            let value: [UInt8] = [0, 13, 10, 36, 45, 49, 13, 10, 0, 255, 42, 13]
            try await redis.set(key, to: value)
            #expect(try await redis.get(key) == value)
            let binaryKeyedValue = (0...255).map { UInt8($0) }
            try await redis.hset(key + ":h", fields: [("f\r\nield", binaryKeyedValue)])
            #expect(try await redis.hget(key + ":h", field: "f\r\nield") == binaryKeyedValue)
        }
    }

    @Test func oneMebibyteValue() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let key = uniqueKey()
            let value = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
            try await redis.set(key, to: value)
            let readBack = try await redis.get(key)
            #expect(readBack?.count == 1 << 20)
            #expect(readBack == value)
            try await redis.del(key)
        }
    }

    @Test func scriptIsLoadedOnNOSCRIPT() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let key = uniqueKey()
            let script = RedisScript("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[1] .. ':n') + \(Int.random(in: 0...1_000_000_000)) * 0")
            _ = try await redis.send(RedisCommand("SCRIPT", "FLUSH"))
            let first = try await redis.evalScript(script, keys: [key], arguments: ["v1"])
            #expect(first == .integer(1))
            let exists = try await redis.send(RedisCommand("SCRIPT", "EXISTS", script.sha1))
            #expect(exists == .array([.integer(1)]))
            let second = try await redis.evalScript(script, keys: [key], arguments: ["v2"])
            #expect(second == .integer(2))
            #expect(try await redis.get(key) == Array("v2".utf8))
        }
    }

    @Test func scriptErrorsAreTyped() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let script = RedisScript("return redis.error_reply('CUSTOM failure')")
            await #expect {
                try await redis.evalScript(script)
            } throws: { error in
                (error as? RedisError)?.serverErrorCode == "CUSTOM"
            }
        }
    }
}
