import RedisClient

/// A client of `configuration`, shut down after `body` whatever happens.
public func withRedisClient<T>(
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

/// A client of `url` with the default timeouts, shut down after `body` whatever happens.
public func withRedisClient<T>(url: String, _ body: (RedisClient) async throws -> T) async throws -> T {
    try await withRedisClient(try RedisConfiguration(url: url), body)
}
