import Foundation
import LoadEngine
import LoadReports
import NIOCore
import NIOHTTP1
import NIOPosix

/// Runs a scenario against a cluster: the load of its phases through the load balancer (or
/// straight to the first N nodes), the events that act on the cluster through its
/// `ClusterControl`, and those that act on users (revocations, role changes) through the nodes'
/// own API.
public struct ScenarioRunner: Sendable {
    public var scenario: Scenario
    public var cluster: any ClusterControl
    public var userPrefix = "user"
    public var password: String
    public var group: any EventLoopGroup
    public var progress: LiveProgress?

    public init(
        scenario: Scenario, cluster: any ClusterControl, password: String, group: any EventLoopGroup, progress: LiveProgress? = nil
    ) {
        self.scenario = scenario
        self.cluster = cluster
        self.password = password
        self.group = group
        self.progress = progress
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Redis commands the nodes sent, by command, summed over the nodes' `/metrics`.
    func redisCommandCounts(_ nodes: [Target]) async -> [String: Double] {
        var totals: [String: Double] = [:]
        for node in nodes {
            guard let response = try? await HTTPExchange.send(to: node, method: .GET, path: "/metrics", group: group, timeout: .seconds(5)),
                response.status == 200
            else { continue }
            for (command, count) in Self.redisCommandCounts(metrics: String(buffer: response.body)) {
                totals[command, default: 0] += count
            }
        }
        return totals
    }

    /// The metric a node's `/metrics` counts its Redis commands in, by `command` label
    /// (AuthNodeTests hold it to what a node serves).
    public static let redisCommandCountMetric = "authbench_redis_command_duration_seconds_count"

    /// `authbench_redis_command_duration_seconds_count{command="GETEX"} 123` lines of a Prometheus text.
    static func redisCommandCounts(metrics: String) -> [String: Double] {
        var counts: [String: Double] = [:]
        let prefix = Self.redisCommandCountMetric + "{command=\""
        for line in metrics.split(separator: "\n") where line.hasPrefix(prefix) {
            let rest = line.dropFirst(prefix.count)
            guard let quote = rest.firstIndex(of: "\""), let space = rest.lastIndex(of: " "), let value = Double(rest[rest.index(after: space)...]) else { continue }
            counts[String(rest[..<quote]), default: 0] += value
        }
        return counts
    }

    /// What the scenario made the nodes ask of Redis: commands by name over the whole run
    /// (a node restarted mid-run restarts its counters, so its share is a lower bound).
    public struct RedisLoad: Sendable, Codable {
        public var commands: [String: Double]
        public var seconds: Double
    }

    /// One result per run of phases on the same targets (one in all, unless phases name `nodes`),
    /// and the Redis commands the nodes sent meanwhile.
    public func runMeasuringRedis() async throws -> (results: [LoadResult], redis: RedisLoad) {
        let nodes = try cluster.targets().nodes
        let before = await redisCommandCounts(nodes)
        let clock = ContinuousClock()
        let start = clock.now
        let results = try await run()
        let elapsed = clock.now - start
        let after = await redisCommandCounts(nodes)
        var delta: [String: Double] = [:]
        for (command, count) in after { delta[command] = max(0, count - (before[command] ?? 0)) }
        return (results, RedisLoad(commands: delta.filter { $0.value > 0 }, seconds: elapsed.seconds))
    }

    /// One result per run of phases on the same targets (one in all, unless phases name `nodes`).
    public func run() async throws -> [LoadResult] {
        let (nodes, balancer) = try cluster.targets()

        var groups: [(targets: [Target], phases: [Scenario.Phase])] = []
        for phase in scenario.phases {
            let targets = phase.nodes.map { Array(nodes.prefix($0)) } ?? (balancer.map { [$0] } ?? nodes)
            if let last = groups.last, last.targets == targets {
                groups[groups.count - 1].phases.append(phase)
            } else {
                groups.append((targets, [phase]))
            }
        }
        var events: [LoadRunner.TimedEvent] = []
        for event in scenario.events {
            events.append(try await timedEvent(event, nodes: nodes))
        }
        var results: [LoadResult] = []
        for (index, group) in groups.enumerated() {
            let plan = LoadPlan(
                targets: group.targets, modes: scenario.modes, connections: scenario.connections, users: scenario.users,
                userPrefix: userPrefix, password: password, duration: group.phases[0].duration,
                warmup: scenario.warmup, stages: group.phases.map { LoadPlan.Stage(rate: $0.rate, duration: $0.duration) },
                label: groups.count > 1 ? "\(scenario.name) \(group.targets.count) node(s)" : scenario.name)
            try plan.validate()
            results.append(try await LoadRunner(plan: plan, group: self.group, progress: progress, events: index == 0 ? events : []).run())
        }
        return results
    }

    private func timedEvent(_ event: Scenario.Event, nodes: [Target]) async throws -> LoadRunner.TimedEvent {
        let name = event.action.description
        switch event.action {
        case .revokeUser(let user):
            let probe = try await RevocationProbe.prepare(
                user: user, password: password, nodes: nodes, group: group,
                deadline: .seconds(Int64(scenario.cluster.accessTokenTTL) + 10))
            return LoadRunner.TimedEvent(at: event.at, name: name) { await probe.revokeAndWatch() }
        case .changeRole(let user, let role, let admin):
            let probe = try await RoleChangeProbe.prepare(
                user: user, role: role, admin: admin, password: password, nodes: nodes, group: group,
                deadline: .seconds(Int64(scenario.cluster.accessTokenTTL) + 10))
            return LoadRunner.TimedEvent(at: event.at, name: name) { await probe.changeAndWatch() }
        case .deleteSessions(let count):
            let probe = try await StaleSessionProbe.prepare(
                count: count, user: "user\(scenario.users + 3)", password: password, nodes: nodes, cluster: cluster, group: group,
                deadline: .seconds(5))
            return LoadRunner.TimedEvent(at: event.at, name: name) { await probe.deleteAndWatch() }
        case .killNode, .startNode, .partitionNode, .healNode, .stopRedis, .startRedis, .redisLatency, .killFeed, .stallFeed, .resumeFeed, .rotateKey:
            let cluster = self.cluster
            return LoadRunner.TimedEvent(at: event.at, name: name) { await cluster.carryOut(event.action) }
        }
    }
}
