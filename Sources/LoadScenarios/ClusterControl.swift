import Foundation
import LoadEngine

/// What a scenario needs of the cluster it runs on, whoever runs it: where the nodes and the
/// load balancer are, and carrying out the events that act on the cluster itself.
public protocol ClusterControl: Sendable {
    /// The nodes, and the load balancer (nil without one).
    func targets() throws -> (nodes: [Target], balancer: Target?)
    /// Carries out an action on the cluster itself (any but `revokeUser` and `changeRole`, which
    /// go through the nodes' API), and returns once it has taken effect.
    func carryOut(_ action: Scenario.Action) async -> EventOutcome
    /// The nodes' Redis and key prefix, for events that act on Redis as a second client.
    func redis() throws -> (url: String, keyPrefix: String)
}

extension ClusterControl {
    public func redis() throws -> (url: String, keyPrefix: String) {
        throw ScenarioRunner.Failure(description: "this cluster does not say where its Redis is")
    }
}

/// A cluster that `scripts/cluster up` (or `scripts/containers up`) started on this machine:
/// `cluster.env` in its run directory names the nodes and the load balancer, and each event is
/// `SCRIPT VERB ... --run-dir DIR`, whose last line is the event's detail.
public struct ScriptedCluster: ClusterControl {
    /// The run directory.
    public var directory: String
    /// `scripts/cluster`.
    public var script: String

    public init(directory: String, script: String) {
        self.directory = directory
        self.script = script
    }

    /// `cluster.env` as a dictionary.
    func settings() throws -> [String: String] {
        guard let settings = ClusterRunDirectory.settings(directory) else {
            throw ScenarioRunner.Failure(description: "no cluster in \(directory): start one with scripts/cluster up --lb (or scripts/bench --scenario)")
        }
        return settings
    }

    public func targets() throws -> (nodes: [Target], balancer: Target?) {
        let settings = try settings()
        let nodes = try (settings["NODE_URLS"] ?? "").split(separator: ",").map { try Target(url: String($0)) }
        guard !nodes.isEmpty else { throw ScenarioRunner.Failure(description: "\(directory)/cluster.env names no nodes") }
        return (nodes, try settings["LB_URL"].flatMap { $0.isEmpty ? nil : $0 }.map { try Target(url: $0) })
    }

    public func redis() throws -> (url: String, keyPrefix: String) {
        let settings = try settings()
        guard let url = settings["REDIS_URL"], !url.isEmpty else {
            throw ScenarioRunner.Failure(description: "\(directory)/cluster.env names no REDIS_URL")
        }
        return (url, settings["KEY_PREFIX"] ?? "ab:")
    }

    public func carryOut(_ action: Scenario.Action) async -> EventOutcome {
        let verb: [String]
        switch action {
        case .killNode(let node): verb = ["kill-node", String(node)]
        case .startNode(let node): verb = ["start-node", String(node)]
        case .partitionNode(let node): verb = ["partition-node", String(node)]
        case .healNode(let node): verb = ["heal-node", String(node)]
        case .stopRedis: verb = ["stop-redis"]
        case .startRedis: verb = ["start-redis"]
        case .redisLatency(let delay): verb = ["redis-latency", delay]
        case .killFeed: verb = ["kill-feed"]
        case .stallFeed: verb = ["stall-feed"]
        case .resumeFeed: verb = ["resume-feed"]
        case .rotateKey: verb = ["rotate-key"]
        case .revokeUser, .changeRole, .deleteSessions:
            return EventOutcome(ok: false, detail: "\(action) goes through the nodes' API or Redis, not scripts/cluster")
        }
        let arguments = [script] + verb + ["--run-dir", directory]
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: Self.run(arguments)) }
        }
    }

    static func run(_ arguments: [String]) -> EventOutcome {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("authbench-event-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: output) }
        let status = ChildProcess.run("/bin/bash", arguments, outputPath: output.path)
        guard status >= 0 else { return EventOutcome(ok: false, detail: "could not start /bin/bash \(arguments[0])") }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        let last = text.split(separator: "\n").last.map(String.init) ?? "exit \(status)"
        return EventOutcome(ok: status == 0, detail: last.replacingOccurrences(of: "cluster: ", with: ""))
    }
}
