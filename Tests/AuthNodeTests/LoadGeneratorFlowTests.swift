import AuthNode
import HummingbirdTesting
import LoadKit
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
            #expect(file.runs.map(\.mode) == ["session", "jwt"])
            for run in file.runs {
                #expect(run.requests > 100, "\(run.mode)")
                #expect(run.errors == 0, "\(run.mode): \(run.errors_by_cause)")
                #expect(run.status_counts == ["200": run.requests])
                #expect(run.login_latency_us != nil)
                #expect(run.login_failures.isEmpty)
            }
        }
    }
}
