import AuthNode
import HummingbirdTesting
import LoadEngine
import TestSupport
import Testing

/// The load generator's login flows and both modes against real nodes over one Redis.
extension ClusterTests {
    @Test func bothModesRunSideBySideAgainstTheCluster() async throws {
        try await withThreeNodes { nodes in
            let targets = try nodes.map { Target(host: "127.0.0.1", port: try #require($0.port)) }
            let plan = LoadPlan(
                targets: targets, modes: [.session, .jwt], path: "/api/me", connections: 6, users: 1, userPrefix: "writer",
                password: NodeHarness.password, duration: .seconds(1), warmup: .milliseconds(200))
            let file = ResultFile(try await LoadRunner(plan: plan).run())
            #expect(file.runs.map(\.mode) == [.session, .jwt])
            for run in file.runs {
                #expect(run.requests >= 3, "\(run.mode): each of the mode's 3 connections was answered")
                #expect(run.errors == 0, "\(run.mode): \(run.errors_by_cause)")
                #expect(run.status_counts == ["200": run.requests])
                #expect(run.login_latency_us != nil)
                #expect(run.login_failures.isEmpty)
            }
        }
    }
}

@Suite(.sharedRedis) struct LoadGeneratorRenewalTests {
    @Test func accessTokensAreRefreshedBeforeTheyExpire() async throws {
        // Tokens live 3 s and the run 5 s: each connection's token is renewed 2 s before it
        // expires, so at least twice, each time rotating its own refresh token (a second use of
        // one would look like theft and revoke the family: renewal_failures would show it).
        let node = try await NodeHarness.make(.redis, port: 0, accessTokenLifetime: 3)
        try await node.test(.live) { client in
            let plan = LoadPlan(
                targets: [Target(host: "127.0.0.1", port: try #require(client.port))], modes: [.jwt], path: "/api/me",
                rate: 200, connections: 2, users: 1, userPrefix: "writer", password: NodeHarness.password,
                duration: .seconds(5), warmup: .milliseconds(200))
            let run = try #require(ResultFile(try await LoadRunner(plan: plan).run()).runs.first)
            #expect(run.errors == 0, "\(run.errors_by_cause)")
            #expect((run.refreshes ?? 0) >= 2, "refreshes: \(String(describing: run.refreshes))")
            #expect(run.refresh_latency_us != nil)
            #expect(run.renewal_failures == 0)
        }
    }

    @Test func anUnexpected401LogsTheUserInAgain() async throws {
        let node = try await NodeHarness.make(.redis, port: 0)
        try await node.test(.live) { client in
            let plan = LoadPlan(
                targets: [Target(host: "127.0.0.1", port: try #require(client.port))], modes: [.session], path: "/api/me",
                rate: 200, connections: 1, users: 1, userPrefix: "writer", password: NodeHarness.password,
                duration: .seconds(4), warmup: .milliseconds(200))
            let progress = LiveProgress()
            async let result = LoadRunner(plan: plan, progress: progress).run()
            // Once the generator has 100 measured answers (its schedule, late or not, is in the
            // measured phase), every session of writer1 ends, the load generator's too. The
            // schedule has 700 requests left to meet the dead session and log in again.
            let measuring = try await eventually { progress.snapshot().requests >= 100 }
            #expect(measuring)
            let sid = try #require(try await client.login("writer1", mode: "session").sessionCookie)
            #expect(try await client.post("/auth/logout-all", session: sid).status == .noContent)
            let run = try #require(ResultFile(try await result).runs.first)
            // One connection, one request in flight: exactly one request meets the dead session.
            // Its user logs in again and sends nothing meanwhile, so every other request of the
            // schedule (200/s for 4 s, late if the machine is busy) is sent with the new session
            // and succeeds.
            #expect(run.errors_by_cause == ["status 401": 1], "\(run.errors_by_cause)")
            #expect(run.relogins == 1)
            #expect(run.renewal_failures == 0)
            #expect(abs(run.requests - 800) <= plan.connections, "sent \(run.requests) of 800 scheduled")
            #expect(run.status_counts["200"] == run.requests - 1, "\(run.status_counts)")
        }
    }
}
