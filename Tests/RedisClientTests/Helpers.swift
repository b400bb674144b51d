import Foundation
import RedisClient
import TestSupport

/// A client of the shared test Redis, shut down after `body` whatever happens.
func withSharedRedisClient<T>(
    _ configure: (inout RedisConfiguration) -> Void = { _ in },
    _ body: (RedisClient) async throws -> T
) async throws -> T {
    var configuration = try RedisConfiguration(url: TestEnvironment.requireRedisURL())
    configure(&configuration)
    return try await withRedisClient(configuration, body)
}

func withRedisClient<T>(
    _ configuration: RedisConfiguration,
    _ body: (RedisClient) async throws -> T
) async throws -> T {
    let client = RedisClient(configuration: configuration)
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

/// A key no other test uses, so tests can share one Redis and run in parallel.
func uniqueKey(_ name: String = #function) -> String {
    "test:\(UUID().uuidString):\(name)"
}

extension ContinuousClock.Instant.Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
