import RedisClient
import TestSupport
import Testing

@Suite(.sharedRedis) struct RedisConcurrencyTests {
    @Test func tenThousandConcurrentGetsEachReachTheirOwnCaller() async throws {
        try await withSharedRedisClient { (redis) async throws in
            let prefix = uniqueKey()
            let count = 10_000
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask { try await redis.set("\(prefix):\(index)", to: "value-\(index)") }
                }
                try await group.waitForAll()
            }
            let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let value = try await redis.get("\(prefix):\(index)")
                        return value == Array("value-\(index)".utf8) ? 0 : 1
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(mismatches == 0)
            let keys = (0..<count).map { "\(prefix):\($0)" }
            #expect(try await redis.del(keys) == count)
        }
    }

    @Test func concurrentCallersAreSpreadOverThePool() async throws {
        try await withSharedRedisClient({ $0.poolSize = 4 }) { (redis) async throws in
            try await redis.connect()
            let clientIDs = try await withThrowingTaskGroup(of: Int64?.self) { group in
                for _ in 0..<200 {
                    group.addTask { try await redis.send(RedisCommand("CLIENT", "ID")).integer }
                }
                return try await group.reduce(into: Set<Int64>()) { $0.insert($1 ?? -1) }
            }
            #expect(clientIDs.count == 4)
            #expect(!clientIDs.contains(-1))
        }
    }
}
