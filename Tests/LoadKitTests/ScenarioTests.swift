import Foundation
import NIOCore
import NIOPosix
import Synchronization
import TestSupport
import Testing

@testable import LoadEngine
@testable import LoadReports
@testable import LoadScenarios
@testable import TCPDelayProxy

/// Scenario files: the committed ones parse, and a malformed one is refused with its line and reason.
@Suite struct ScenarioTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scenarios")

    @Test func everyCommittedScenarioParses() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0.hasSuffix(".yml") }.sorted()
        #expect(names.count >= 7)
        for name in names {
            let scenario = try Scenario.load(path: Self.folder.appendingPathComponent(name).path)
            #expect(scenario.name + ".yml" == name)
            #expect(!scenario.phases.isEmpty && !scenario.expectations.isEmpty, "\(name)")
        }
    }

    static let valid = """
        name: outage
        description: Redis goes away.
        cluster:
          nodes: 2
          redis_timeout_ms: 500
        load:
          mode: both
          connections: 8
          users: 4
          warmup: 2s
          phases:
            - {duration: 20s, rate: 500}
            - duration: 10s
        events:
          - {at: 5s, do: stop_redis}
          - {at: 15s, do: kill_node, node: 2}
          - {at: 16s, do: revoke_user}
          - {at: 17s, do: change_role, role: writer}
        expect:
          jwt: [errors < 1%, relogins == 0, revoked < 1s, demoted < 250ms]
          session: [status503 >= 1, p99 < 2s]
        """

    @Test func aValidFileGivesItsEveryPart() throws {
        let scenario = try Scenario.parse(Self.valid)
        #expect(scenario.cluster.nodes == 2 && scenario.cluster.redisTimeoutMs == 500)
        #expect(scenario.modes == [.session, .jwt])
        #expect(scenario.phases == [.init(duration: .seconds(20), rate: 500, nodes: nil), .init(duration: .seconds(10), rate: nil, nodes: nil)])
        #expect(scenario.events.map(\.action) == [
            .stopRedis, .killNode(2), .revokeUser("user5"), .changeRole(user: "user6", role: "writer", admin: "admin1"),
        ])
        #expect(scenario.expectations.map(\.description) == [
            "jwt: errors < 1%", "jwt: relogins == 0", "jwt: revoked < 1s", "jwt: demoted < 250ms", "session: status503 >= 1", "session: p99 < 2s",
        ])
        let quick = scenario.scaled(by: 0.25)
        #expect(quick.phases.map(\.duration) == [.seconds(5), .milliseconds(2500)])
        #expect(quick.events.map(\.at) == [.milliseconds(1250), .milliseconds(3750), .seconds(4), .milliseconds(4250)])
        #expect(quick.warmup == .milliseconds(500))
    }

    @Test(arguments: [
        ("name: x\nload:\n  phases:\n    - {duration: 1s}\nsurprise: 1\n", 5, "unknown key 'surprise'"),
        ("name: x\nload:\n  phases:\n    - {duration: soon}\n", 4, "a phase's duration must be a duration"),
        ("name: x\nload:\n  mode: sessions\n  phases:\n    - {duration: 1s}\n", 3, "load.mode must be session, jwt or both"),
        ("name: x\nload:\n  phases:\n    - {duration: 1s}\nevents:\n  - {at: 5s, do: stop_redis}\n", 6, "falls after the phases end"),
        ("name: x\nload:\n  phases:\n    - {duration: 9s}\nevents:\n  - {at: 1s, do: explode}\n", 6, "unknown event 'explode'"),
        ("name: x\nload:\n  phases:\n    - {duration: 9s}\nevents:\n  - {at: 1s, do: redis_latency, delay: 1ms}\n", 6, "needs cluster.redis_proxy: true"),
        ("name: x\nload:\n  phases:\n    - {duration: 9s}\nevents:\n  - {at: 1s, do: stall_feed}\n", 6, "stall_feed needs cluster.redis_proxy: true"),
        ("name: x\nload:\n  phases:\n    - {duration: 9s}\nevents:\n  - {at: 1s, do: kill_node, node: 7}\n", 6, "node must be a whole number from 1 to 3"),
        ("name: x\nload:\n  phases:\n    - {duration: 9s}\nexpect:\n  jwt: [fast]\n", 6, "'fast': expected"),
        ("name: x\nload:\n  phases:\n    - {duration: 9s}\nevents:\n  - {at: 1s, do: change_role, role: owner}\n", 6, "role must be reader, writer or admin"),
        ("name: x\nload:\n  phases:\n    - {duration: 9s}\nexpect:\n  jwt: [demoted < soon]\n", 6, "demoted takes a duration"),
        ("name: x\nload:\n  mode: jwt\n  phases:\n    - {duration: 9s}\nexpect:\n  session: [errors < 1%]\n", 7, "the load does not run session"),
        ("name: x\nload:\n  phases: [\n", 4, "not valid YAML"),
        ("name: x\n", 1, "a scenario needs load"),
        ("name: x\ncluster: {session_cache: maybe}\nload:\n  phases:\n    - {duration: 9s}\n", 2, "cluster.session_cache must be off or tracking"),
        ("name: x\nload:\n  phases:\n    - {duration: 9s}\nexpect:\n  session: [stale_accepts == none]\n", 6, "stale_accepts takes a whole number"),
        ("name: x\nload:\n  phases:\n    - {duration: 9s}\nevents:\n  - {at: 1s, do: partition_node, node: 2}\n", 6, "partition_node needs cluster.runtime: containers"),
        ("name: x\ncluster: {runtime: vm}\nload:\n  phases:\n    - {duration: 9s}\n", 2, "cluster.runtime must be processes or containers"),
        ("name: x\ncluster: {nodes: 5, runtime: containers}\nload:\n  phases:\n    - {duration: 9s}\n", 2, "the compose file's three nodes"),
    ])
    func aMalformedFileIsRefusedWithItsLineAndReason(_ text: String, _ line: Int, _ reason: String) {
        #expect {
            try Scenario.parse(text)
        } throws: { error in
            guard let invalid = error as? Scenario.Invalid else { return false }
            return invalid.line == line && invalid.reason.contains(reason)
        }
    }

    @Test func claimsAreJudgedAgainstTheNumbers() throws {
        let scenario = try Scenario.parse(Self.valid)
        let json = """
            {"tool":"authbench-load","version":"0.1.0","started_at":"2026-11-30T00:00:00Z",
             "config":{"targets":["http://127.0.0.1:1"],"modes":["session","jwt"],"path":"/","connections":8,"users":4,"duration_s":20,"warmup_s":2},
             "events":[{"at_s":16.0,"name":"revoke user5","ok":true,"detail":"","values":{"jwt_revoked_s":0.02,"session_revoked_s":0.003}},
                       {"at_s":17.0,"name":"make user6 a writer","ok":true,"detail":"","values":{"jwt_demoted_s":0.3,"session_demoted_s":0.004}}],
             "runs":[
              {"mode":"jwt","stage":1,"requests":1000,"errors":20,"duration_s":20,"throughput_rps":50,"relogins":0,
               "latency_us":{"p50":100,"p90":200,"p99":300,"p999":900,"max":1000,"mean":150},
               "latency_uncorrected_us":{"p50":100,"p90":200,"p99":300,"p999":900,"max":1000,"mean":150},
               "status_counts":{"200":980},"per_second":[],"errors_by_cause":{"status 503":20},"late_sends":0,"login_failures":{}},
              {"mode":"session","stage":1,"requests":1000,"errors":300,"duration_s":20,"throughput_rps":50,"relogins":0,
               "latency_us":{"p50":100,"p90":200,"p99":3000000,"p999":3000000,"max":3000000,"mean":150},
               "latency_uncorrected_us":{"p50":100,"p90":200,"p99":300,"p999":900,"max":1000,"mean":150},
               "status_counts":{"200":700,"503":300},"per_second":[],"errors_by_cause":{"status 503":300},"late_sends":0,"login_failures":{}}]}
            """
        let file = try JSONDecoder().decode(ResultFile.self, from: Data(json.utf8))
        let verdicts = ScenarioReport.verdicts(scenario, files: [file])
        #expect(verdicts.map(\.holds) == [false, true, true, false, true, false], "\(verdicts)")
        #expect(verdicts[0].detail.contains("errors is 2%"))
        #expect(verdicts[2].detail == "refused by every node after 20 ms")
        #expect(verdicts[3].detail == "every node had taken the change after 300 ms")
        #expect(verdicts[4].detail == "300 response(s) with status 503")
    }

    @Test func aStaleSessionScenarioGivesItsEventAndClaimsAndIsJudged() throws {
        let scenario = try Scenario.parse("""
            name: stale
            cluster: {nodes: 3, session_cache: tracking}
            load:
              mode: session
              phases:
                - {duration: 10s, rate: 100}
            events:
              - {at: 2s, do: delete_sessions, count: 7}
              - {at: 6s, do: delete_sessions}
            expect:
              session: [stale_accepts == 0, stale_window < 10ms]
            """)
        #expect(scenario.cluster.sessionCache == "tracking")
        #expect(scenario.events.map(\.action) == [.deleteSessions(7), .deleteSessions(20)])
        func judged(_ accepts: [Double], _ windows: [Double]) throws -> [ScenarioReport.Verdict] {
            let events = zip(accepts, windows).map { accepts, window in
                #"{"at_s":2.0,"name":"delete 7 sessions in Redis","ok":true,"detail":"","values":{"session_stale_accepts":\#(accepts),"session_stale_window_s":\#(window)}}"#
            }
            let json = """
                {"tool":"authbench-load","version":"0.1.0","started_at":"2026-12-04T00:00:00Z",
                 "config":{"targets":["http://127.0.0.1:1"],"modes":["session"],"path":"/","connections":8,"users":4,"duration_s":10,"warmup_s":2},
                 "events":[\(events.joined(separator: ","))], "runs":[]}
                """
            return ScenarioReport.verdicts(scenario, files: [try JSONDecoder().decode(ResultFile.self, from: Data(json.utf8))])
        }
        let held = try judged([0, 0], [0.002, 0.004])
        #expect(held.map(\.holds) == [true, true], "\(held)")
        let failed = try judged([0, 2], [0.002, 0.015])
        #expect(failed.map(\.holds) == [false, false], "\(failed)")
        #expect(failed[0].detail == "2 request(s) accepted after the node had refused the deleted session")
        let unmeasured = try judged([], [])
        #expect(unmeasured.map(\.holds) == [false, false], "a claim about an event that did not run does not hold")
    }

    @Test func redisLoadIsReadFromTheNodesMetrics() {
        let text = """
            # TYPE authbench_redis_command_duration_seconds histogram
            authbench_redis_command_duration_seconds_bucket{command="GETEX",le="0.001"} 3
            authbench_redis_command_duration_seconds_count{command="GETEX"} 120
            authbench_redis_command_duration_seconds_count{command="EVALSHA"} 7
            authbench_requests_total{route="/api/me",mode="jwt",status="200"} 5
            """
        #expect(ScenarioRunner.redisCommandCounts(metrics: text) == ["GETEX": 120, "EVALSHA": 7])
    }
}

/// The runner hands the events that act on the cluster to its `ClusterControl`, at their times
/// in the measured phase, and records what the control answered.
@Suite struct ScenarioRunnerTests {
    final class RecordingCluster: ClusterControl {
        let nodes: [Target]
        private let actions = Mutex<[Scenario.Action]>([])

        init(nodes: [Target]) {
            self.nodes = nodes
        }

        var recorded: [Scenario.Action] { actions.withLock { $0 } }

        func targets() throws -> (nodes: [Target], balancer: Target?) { (nodes, nil) }

        func carryOut(_ action: Scenario.Action) async -> EventOutcome {
            actions.withLock { $0.append(action) }
            if case .partitionNode(let node) = action {
                // Lasts until a later event heals the node, as a watch lasts until a later event ends what it watches.
                for _ in 0..<2_000 where !recorded.contains(.healNode(node)) { try? await Task.sleep(for: .milliseconds(10)) }
                return EventOutcome(ok: recorded.contains(.healNode(node)), detail: "held until healed")
            }
            return EventOutcome(ok: action != .stopRedis, detail: "carried out: \(action)")
        }
    }

    @Test func clusterEventsGoToTheClusterControlInOrder() async throws {
        let server = FlakyServer(port: try LoopbackPort.free(), requestsPerConnection: 1_000_000)
        try await server.start()
        var scenario = Scenario(name: "seam", description: "")
        scenario.modes = [.none]
        scenario.connections = 2
        scenario.warmup = .milliseconds(100)
        scenario.phases = [.init(duration: .seconds(2), rate: 50, nodes: nil)]
        scenario.events = [.init(at: .milliseconds(400), action: .killNode(2)), .init(at: .seconds(1), action: .stopRedis)]
        let cluster = RecordingCluster(nodes: [Target(host: "127.0.0.1", port: server.port)])
        let results = try await ScenarioRunner(scenario: scenario, cluster: cluster, password: "", group: MultiThreadedEventLoopGroup.singleton).run()
        await server.stop()
        #expect(cluster.recorded == [.killNode(2), .stopRedis])
        let events = results.flatMap(\.events)
        #expect(events.map(\.name) == ["kill node 2", "stop Redis"])
        #expect(events.map(\.ok) == [true, false])
        #expect(events.map(\.detail) == ["carried out: kill node 2", "carried out: stop Redis"])
        // Each no earlier than its time (a busy machine may start both late).
        #expect(events.count == 2 && events[0].at_s >= 0.4 && events[1].at_s >= max(1, events[0].at_s))
    }

    @Test func anEventStillGoingDoesNotHoldUpTheNextOne() async throws {
        let server = FlakyServer(port: try LoopbackPort.free(), requestsPerConnection: 1_000_000)
        try await server.start()
        var scenario = Scenario(name: "overlap", description: "")
        scenario.cluster.runtime = "containers"
        scenario.modes = [.none]
        scenario.connections = 2
        scenario.warmup = .milliseconds(100)
        scenario.phases = [.init(duration: .seconds(2), rate: 50, nodes: nil)]
        scenario.events = [.init(at: .milliseconds(200), action: .partitionNode(2)), .init(at: .milliseconds(600), action: .healNode(2))]
        let cluster = RecordingCluster(nodes: [Target(host: "127.0.0.1", port: server.port)])
        let results = try await ScenarioRunner(scenario: scenario, cluster: cluster, password: "", group: MultiThreadedEventLoopGroup.singleton).run()
        await server.stop()
        #expect(cluster.recorded == [.partitionNode(2), .healNode(2)])
        let events = results.flatMap(\.events)
        #expect(events.map(\.name) == ["cut node 2 from Redis", "reconnect node 2 to Redis"])
        // Had the heal waited for the cut to end, the cut would have given up waiting for it.
        #expect(events.map(\.ok) == [true, true])
        #expect(events.map(\.detail) == ["held until healed", "carried out: reconnect node 2 to Redis"])
    }
}
