import AuthCore
import AuthNode
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import RedisClient
import TestSupport
import Testing

/// Three real nodes on loopback sockets over one Redis, the way a load balancer sees them.
@Suite(.sharedRedis) struct ClusterTests {
    /// Runs `body` with three live nodes sharing one Redis and one key prefix.
    func withThreeNodes(
        redisURL: String? = nil,
        keyPrefix prefix: String = "cluster-\(UUID().uuidString):",
        _ body: @Sendable ([any TestClientProtocol]) async throws -> Void
    ) async throws {
        var nodes: [NodeHarness] = []
        for index in 1...3 {
            nodes.append(try await NodeHarness.make(.redis, redisURL: redisURL, nodeID: "node-\(index)", port: 0, keyPrefix: prefix))
        }
        try await NodeHarness.live(nodes, body)
    }

    @Test func aLoginOnOneNodeWorksOnTheOthersAndLogoutReachesThemAll() async throws {
        try await withThreeNodes { nodes in
            let sid = try #require(try await nodes[0].login("writer1", mode: "session").sessionCookie)
            let tokens = try await nodes[0].login("writer1", mode: "jwt").decoded(Login.self)
            for (index, node) in nodes.enumerated() {
                let bySession = try await node.get("/api/me", session: sid)
                #expect(bySession.status == .ok)
                #expect(try bySession.decoded([String: String].self)["node"] == "node-\(index + 1)")
                #expect(try await node.get("/api/me", bearer: tokens.access_token).status == .ok)
            }

            // Session logout on node 3: rejected on node 1 at once.
            #expect(try await nodes[2].post("/auth/logout", session: sid).status == .noContent)
            #expect(try await nodes[0].get("/api/me", session: sid).errorCode == "invalid_session")

            // JWT logout on node 3: node 1 hears of it through pub/sub, long before the token's
            // 300 s lifetime ends (how soon is the revocation scenario's measurement).
            #expect(try await nodes[2].post("/auth/logout", bearer: tokens.access_token).status == .noContent)
            let rejected = try await eventually {
                try await nodes[0].get("/api/me", bearer: tokens.access_token).errorCode == "invalid_token"
            }
            #expect(rejected, "node 1 still accepted the token after logout on node 3")
            #expect(try await eventually {
                try await nodes[1].get("/api/me", bearer: tokens.access_token).errorCode == "invalid_token"
            })
        }
    }

    @Test func theSameRefreshTokenOnTwoNodesAtOnceHasExactlyOneWinner() async throws {
        try await withThreeNodes { nodes in
            var violations: [String] = []
            for trial in 0..<1000 {
                let refresh = try await nodes[0].login("writer1", mode: "jwt").decoded(Login.self).refresh_token
                let body = #"{"refresh_token":"\#(refresh)"}"#
                async let onTwo = nodes[1].post("/auth/refresh", json: body)
                async let onThree = nodes[2].post("/auth/refresh", json: body)
                let statuses = try await [onTwo.status.code, onThree.status.code].sorted()
                if statuses != [200, 401] { violations.append("trial \(trial): \(statuses)") }
            }
            #expect(violations.isEmpty, "\(violations.prefix(5))")
        }
    }

    @Test(.ownRedisServer) func redisDownFailsSessionsFastKeepsJWTsAndRecovers() async throws {
        try await RedisServerProcess.with { (server) async throws in
            try await withThreeNodes(redisURL: server.url) { nodes in
                let sid = try #require(try await nodes[0].login("writer1", mode: "session").sessionCookie)
                let access = try await nodes[0].login("writer1", mode: "jwt").decoded(Login.self).access_token
                await server.kill()

                let clock = ContinuousClock()
                for node in nodes {
                    let start = clock.now
                    let response = try await node.get("/api/me", session: sid)
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.errorCode == "store_unavailable")
                    // The refused connection fails the lookup, not the command timeout.
                    let timeout = Duration.nanoseconds(NodeHarness.redisTimeout.nanoseconds)
                    #expect(clock.now - start < timeout, "503 before the \(timeout) command timeout")
                    #expect(try await node.get("/api/me", bearer: access).status == .ok)
                }
                #expect(try await nodes[1].get("/readyz").status == .serviceUnavailable)

                try await server.start()
                // Redis restarted empty: the session is gone, but the nodes answer again by themselves.
                let recovered = try await eventually {
                    try await nodes[0].get("/api/me", session: sid).errorCode == "invalid_session"
                }
                #expect(recovered)
                for node in nodes { try await node.waitUntilReady() }
            }
        }
    }
}

extension ClusterTests {
    @Test(.ownRedisServer) func aNodeReloadsRevocationsItMissedWhileDisconnected() async throws {
        try await RedisServerProcess.with { (server) async throws in
            let prefix = "reload-\(UUID().uuidString):"
            let listener = try await NodeHarness.make(.redis, redisURL: server.url, nodeID: "node-1", keyPrefix: prefix)
            try await listener.test(.router) { client in
                let access = try await client.login("writer1", mode: "jwt").decoded(Login.self).access_token
                #expect(try await client.get("/api/me", bearer: access).status == .ok)

                // Redis restarts (empty): the node's subscription drops. While it is away,
                // another node revokes the token straight in Redis.
                await server.kill()
                let noticed = try await eventually { try await client.get("/readyz").status == .serviceUnavailable }
                #expect(noticed, "the node reports not ready while Redis is away")
                try await server.start()
                let claims = try listener.backend.accessTokens.verify(access)
                let other = RedisClient(configuration: try RedisConfiguration(url: server.url))
                try await other.zadd(prefix + "revoked", members: [(Double(claims.exp + 10), "jti:" + claims.jti)])
                await other.shutdown()

                // After resubscribing the node reloads the list before it is ready, so it rejects the token.
                try await client.waitUntilReady()
                #expect(try await client.get("/api/me", bearer: access).errorCode == "invalid_token")
            }
        }
    }
}

extension ClusterTests {
    /// A revocation channel that goes silent (Redis stalled: the connection open, nothing
    /// answered) must not leave a node vouching for tokens with a list that may miss
    /// revocations: past the staleness bound, access tokens get 503 and the node is not ready;
    /// once the channel is back and the list reloaded, they are served again.
    @Test(.ownRedisServer) func aNodeWhoseRevocationChannelFallsSilentRefusesAccessTokens() async throws {
        try await RedisServerProcess.with { (server) async throws in
            let node = try await NodeHarness.make(
                .redis, redisURL: server.url, revocationMaxStaleness: .seconds(1), redisTimeout: .seconds(1))
            try await node.test(.router) { client in
                let access = try await client.login("writer1", mode: "jwt").decoded(Login.self).access_token
                #expect(try await client.get("/api/me", bearer: access).status == .ok)

                server.pause()
                let refused = try await eventually {
                    let response = try await client.get("/api/me", bearer: access)
                    return response.status == .serviceUnavailable && response.errorCode == "store_unavailable"
                }
                #expect(refused, "a token accepted on a revocation list gone stale")
                #expect(try await client.get("/readyz").status == .serviceUnavailable)

                server.resume()
                let served = try await eventually { try await client.get("/api/me", bearer: access).status == .ok }
                #expect(served, "tokens served again once the channel is back")
                try await client.waitUntilReady()
            }
        }
    }

    /// A subscription killed on the server side (CLIENT KILL TYPE pubsub) while a revocation
    /// is written without a message: the node resubscribes and reloads, so the token dies.
    @Test(.ownRedisServer) func aKilledSubscriptionIsReplacedAndTheListReloaded() async throws {
        try await RedisServerProcess.with { (server) async throws in
            let prefix = "killed-\(UUID().uuidString):"
            let node = try await NodeHarness.make(.redis, redisURL: server.url, keyPrefix: prefix)
            try await node.test(.router) { client in
                let access = try await client.login("writer1", mode: "jwt").decoded(Login.self).access_token
                #expect(try await client.get("/api/me", bearer: access).status == .ok)
                let claims = try node.backend.accessTokens.verify(access)
                let other = RedisClient(configuration: try RedisConfiguration(url: server.url))
                do {
                    try await other.zadd(prefix + "revoked", members: [(Double(claims.exp + 10), "jti:" + claims.jti)])
                    #expect(try await other.send(RedisCommand("CLIENT", "KILL", "TYPE", "pubsub")).integer == 1)
                    await other.shutdown()
                } catch {
                    await other.shutdown()
                    throw error
                }
                let refused = try await eventually { try await client.get("/api/me", bearer: access).errorCode == "invalid_token" }
                #expect(refused, "the revocation written while the subscription was down was reloaded")
            }
        }
    }

    /// Only nodes write the revocation set; an entry no node would write (a score of +inf)
    /// is skipped at reload instead of bringing the node down.
    @Test func aRevocationEntryWithAnAbsurdScoreIsSkippedAtReload() async throws {
        let prefix = "absurd-\(UUID().uuidString):"
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.requireRedisURL()))
        do {
            _ = try await redis.send(RedisCommand("ZADD", prefix + "revoked", "+inf", "jti:absurd"))
            await redis.shutdown()
        } catch {
            await redis.shutdown()
            throw error
        }
        try await withThreeNodes(keyPrefix: prefix) { nodes in
            let access = try await nodes[0].login("writer1", mode: "jwt").decoded(Login.self).access_token
            for node in nodes {
                #expect(try await node.get("/api/me", bearer: access).status == .ok)
            }
        }
    }
}
