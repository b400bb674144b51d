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
        let (first, second, third) = (nodes[0], nodes[1], nodes[2])
        try await first.application().test(.live) { one in
            try await second.application().test(.live) { two in
                try await third.application().test(.live) { three in
                    let clients: [any TestClientProtocol] = [one, two, three]
                    for client in clients { try await waitUntilReady(client) }
                    try await body(clients)
                }
            }
        }
    }

    func waitUntilReady(_ client: some TestClientProtocol) async throws {
        let ready = try await eventually { try await client.get("/readyz").status == .ok }
        #expect(ready, "a node did not become ready")
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
                for node in nodes { try await waitUntilReady(node) }
            }
        }
    }
}

extension ClusterTests {
    @Test(.ownRedisServer) func aNodeReloadsRevocationsItMissedWhileDisconnected() async throws {
        try await RedisServerProcess.with { (server) async throws in
            let prefix = "reload-\(UUID().uuidString):"
            let listener = try await NodeHarness.make(.redis, redisURL: server.url, nodeID: "node-1", keyPrefix: prefix)
            try await listener.application().test(.router) { client in
                try await waitUntilReady(client)
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
                try await waitUntilReady(client)
                #expect(try await client.get("/api/me", bearer: access).errorCode == "invalid_token")
            }
        }
    }
}

