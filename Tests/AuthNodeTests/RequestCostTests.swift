import Foundation
import LoadCosts
import LoadEngine
import RedisClient
import TestSupport
import Testing

/// The cost meter against a real node on a Redis of the test's own: Redis's own command counts
/// line up with the requests the generator counted. They can differ only at the window's start:
/// warm-up requests still in flight when it opens add at most one GETEX per connection, and
/// requests answered while the meter's own INFO waits its turn are missing from Redis's count
/// (a few; how many depends on the machine, so that side is only bounded loosely).
@Suite(.ownRedisServer) struct RequestCostTests {
    static let connections = 2

    func measure(_ mode: AuthMode, on server: RedisServerProcess) async throws -> ResultFile.Run {
        let node = try await NodeHarness.make(.redis, redisURL: server.url, port: 0)
        let redis = RedisClient(configuration: try RedisConfiguration(url: server.url))
        let pid = try #require(server.pid)
        let meter = ClusterResourceMeter(processes: { ["redis": [pid], "node": [getpid()]] }, redis: redis)
        do {
            let run = try await node.test(.live) { client in
                let plan = LoadPlan(
                    targets: [Target(host: "127.0.0.1", port: try #require(client.port))], modes: [mode], path: "/api/me",
                    connections: Self.connections, users: 1, userPrefix: "writer", password: NodeHarness.password,
                    duration: .seconds(1), warmup: .milliseconds(300))
                return try #require(ResultFile(try await LoadRunner(plan: plan, meter: meter).run()).runs.first)
            }
            await redis.shutdown()
            return run
        } catch {
            await redis.shutdown()
            throw error
        }
    }

    @Test func aSessionRequestIsOneGetexInRedisOwnCount() async throws {
        try await RedisServerProcess.with { (server) async throws in
            let run = try await measure(.session, on: server)
            let resources = try #require(run.resources)
            #expect(run.errors == 0, "\(run.errors_by_cause)")
            #expect(run.requests > 0)
            let getex = resources.redis_calls["getex", default: 0]
            #expect(getex <= run.requests + Self.connections, "getex \(getex) for \(run.requests) requests")
            #expect(getex * 2 >= run.requests, "getex \(getex) for \(run.requests) requests")
            #expect((resources.cpu_us["node"] ?? 0) > 0, "serving requests took CPU")
            #expect((run.request_bytes ?? 0) > 0 && (run.response_bytes ?? 0) > 0)
        }
    }

    @Test func aJWTRequestSendsNothingToRedis() async throws {
        try await RedisServerProcess.with { (server) async throws in
            let run = try await measure(.jwt, on: server)
            let resources = try #require(run.resources)
            #expect(run.errors == 0, "\(run.errors_by_cause)")
            #expect(run.requests > 0)
            // The revocation feed's liveness PING is all Redis sees, however many requests were served.
            #expect(Set(resources.redis_calls.keys).isSubset(of: ["ping"]), "\(resources.redis_calls) for \(run.requests) requests")
        }
    }
}
