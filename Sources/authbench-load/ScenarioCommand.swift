import ArgumentParser
import Foundation
import LoadEngine
import LoadReports
import LoadScenarios

struct ScenarioCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "Run a scenario file against a cluster started by scripts/cluster: its load, its events, its claims (exit 1 when one fails).")

    @Argument(help: "The scenario file, e.g. scenarios/redis-outage.yml.") var file: String
    @Option(help: "The cluster's run directory (scripts/cluster up --run-dir).") var cluster = ".cluster"
    @Option(help: "scripts/cluster, which carries out the events.") var clusterScript = "scripts/cluster"
    @Flag(help: "Every time multiplied by the scenario's quick_scale (default 0.25).") var quick = false
    @Option(help: "Where results and report.md go (default results/scenario-NAME-TIMESTAMP).") var out: String?
    @Option(help: "Username prefix of the seeded users.") var userPrefix = "user"
    @Option(help: "Their password (AUTHBENCH_LOAD_PASSWORD if absent).") var password: String?
    @OptionGroup var threads: ThreadsOption
    @Flag(help: "Print the scripts/cluster up flags the scenario needs, and stop.") var printClusterFlags = false

    func run() async throws {
        var scenario: Scenario
        do {
            scenario = try Scenario.load(path: file)
        } catch {
            throw ValidationError(error.description)
        }
        if printClusterFlags {
            let cluster = scenario.cluster
            print("--nodes \(cluster.nodes) --jwt-alg \(cluster.jwtAlgorithm) --revocation \(cluster.revocation) --access-token-ttl \(cluster.accessTokenTTL) --redis-timeout-ms \(cluster.redisTimeoutMs) --revocation-max-staleness-ms \(cluster.revocationMaxStalenessMs) --session-cache \(cluster.sessionCache)" + (cluster.redisProxy ? " --redis-proxy" : "")
                + (cluster.runtime == "containers" ? " --runtime containers" : ""))
            return
        }
        if quick { scenario = scenario.scaled(by: scenario.quickScale) }
        let threadCount = try threads.count()
        let secret = password ?? ProcessInfo.processInfo.environment["AUTHBENCH_LOAD_PASSWORD"] ?? ""
        guard !secret.isEmpty else { throw ValidationError("--password (or AUTHBENCH_LOAD_PASSWORD) is needed to log the users in") }
        let seconds = String(format: "%g", Double(scenario.totalDuration.nanoseconds) / 1e9)
        FileHandle.standardError.write(Data("authbench-load: scenario \(scenario.name): \(scenario.phases.count) phase(s), \(seconds) s measured, \(scenario.events.count) event(s)\n".utf8))
        let results: [LoadResult]
        let redisLoad: ScenarioRunner.RedisLoad
        do {
            (results, redisLoad) = try await measureWithProgress(threads: threadCount, warmup: scenario.warmup) { [scenario, cluster, clusterScript] group, progress in
                try await ScenarioRunner(
                    scenario: scenario, cluster: ScriptedCluster(directory: cluster, script: clusterScript), password: secret, group: group,
                    progress: progress
                ).runMeasuringRedis()
            }
        } catch let error as ScenarioRunner.Failure {
            throw ValidationError(error.description)
        }
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let directory = URL(fileURLWithPath: out ?? "results/scenario-\(scenario.name)-\(stamp)")
        let written = try ScenarioReport.write(scenario, results: results, redis: redisLoad, to: directory)
        print(written.summary)
        for event in results.flatMap(\.events) {
            print("event at \(String(format: "%.2f", event.at_s)) s: \(event.name): \(event.ok ? "" : "FAILED: ")\(event.detail)")
        }
        for verdict in written.verdicts {
            print("\(verdict.holds ? "holds" : "FAILS"): \(verdict.claim) (\(verdict.detail))")
        }
        print(written.report.path)
        if written.verdicts.contains(where: { !$0.holds }) || results.flatMap(\.events).contains(where: { !$0.ok }) {
            throw ExitCode(1)
        }
    }
}
