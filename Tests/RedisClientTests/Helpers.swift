import Foundation
import NIOCore
import RedisClient
import TestSupport

/// Connect and command timeouts for tests that are not about them: far longer than a busy
/// machine needs, so only a Redis that never answers reaches them.
let patientTimeout = TimeAmount.seconds(15)

/// The client configuration for `url` with `patientTimeout`s.
func patientConfiguration(url: String) throws -> RedisConfiguration {
    var configuration = try RedisConfiguration(url: url)
    configuration.connectTimeout = patientTimeout
    configuration.commandTimeout = patientTimeout
    return configuration
}

/// A client of the shared test Redis, shut down after `body` whatever happens.
func withSharedRedisClient<T>(
    _ configure: (inout RedisConfiguration) -> Void = { _ in },
    _ body: (RedisClient) async throws -> T
) async throws -> T {
    var configuration = try patientConfiguration(url: TestEnvironment.requireRedisURL())
    configure(&configuration)
    return try await withRedisClient(configuration, body)
}

/// A client of `url` with `patientTimeout`s, shut down after `body` whatever happens.
func withPatientRedisClient<T>(url: String, _ body: (RedisClient) async throws -> T) async throws -> T {
    try await withRedisClient(try patientConfiguration(url: url), body)
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
