import ArgumentParser
import Foundation
import LoadKit
import NIOCore
import NIOPosix
import Synchronization

@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authbench-load",
        abstract: "Measures AuthBench nodes: sessions and JWTs side by side.",
        subcommands: [Run.self, Bench.self, ScenarioCommand.self, Compare.self, Report.self, DelayProxyCommand.self]
    )

    /// One line on stderr for anything wrong, and a non-zero exit.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is CleanExit { exit(withError: error) }
            let message = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("authbench-load: \(message.replacingOccurrences(of: "Error: ", with: ""))\n".utf8))
            Foundation.exit(code == .validationFailure ? 2 : 1)
        }
    }
}

enum ModeSelection: String, ExpressibleByArgument, CaseIterable {
    case none, session, jwt, both

    var modes: [AuthMode] {
        switch self {
        case .none: [.none]
        case .session: [.session]
        case .jwt: [.jwt]
        case .both: [.session, .jwt]
        }
    }
}

/// `30s`, `500ms`, `2m`.
struct DurationArgument: ExpressibleByArgument {
    let amount: TimeAmount
    let text: String

    init?(argument: String) {
        guard let amount = DurationText.parse(argument) else { return nil }
        self.amount = amount
        text = argument
    }
}

/// What `run` and `bench` share: where the load goes and how it is shaped.
struct LoadOptions: ParsableArguments {
    @Option(help: "Comma-separated http://host:port targets, used round-robin.") var targets: String
    @Option(help: "The path requested.") var path = "/api/me"
    @Option(help: "Keep-alive connections.") var connections = 32
    @Option(help: "Virtual users logged in before the measured phase.") var users = 32
    @Option(help: "Username prefix of the virtual users (user1, user2, ...).") var userPrefix = "user"
    @Option(help: "Their password (AUTHBENCH_LOAD_PASSWORD if absent).") var password: String?
    @Option(help: "Measured phase, e.g. 30s.") var duration = DurationArgument(argument: "30s")!
    @Option(help: "Warm-up before it, not recorded, e.g. 5s.") var warmup = DurationArgument(argument: "5s")!
    @Option(help: "A name for this run in reports, e.g. 'HS256'.") var label: String?
    @Option(help: "Event-loop threads driving the connections (default: one per core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func plan(modes: [AuthMode], rate: Double? = nil, stages: [LoadPlan.Stage]? = nil) throws -> LoadPlan {
        let parsedTargets: [Target]
        do {
            parsedTargets = try targets.split(separator: ",").map { try Target(url: String($0).trimmingCharacters(in: .whitespaces)) }
        } catch {
            throw ValidationError("--targets: \(error)")
        }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be from 1 to 256") }
        let plan = LoadPlan(
            targets: parsedTargets, modes: modes, path: path, rate: rate, connections: connections, users: users,
            userPrefix: userPrefix, password: password ?? ProcessInfo.processInfo.environment["AUTHBENCH_LOAD_PASSWORD"] ?? "",
            duration: duration.amount, warmup: warmup.amount, stages: stages, label: label)
        do {
            try plan.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return plan
    }

    /// Runs `plan` with the live progress line on stderr.
    func measure(_ plan: LoadPlan) async throws -> LoadResult {
        try await measureWithProgress(threads: threads, warmup: plan.warmup) { group, progress in
            try await LoadRunner(plan: plan, group: group, progress: progress).run()
        }
    }
}

/// Runs `body` on an event-loop group of `threads` threads while the live progress line shows
/// on stderr; the group is shut down after, also when `body` throws.
func measureWithProgress<Measured: Sendable>(
    threads: Int, warmup: TimeAmount, _ body: @escaping @Sendable (any EventLoopGroup, LiveProgress) async throws -> Measured
) async throws -> Measured {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    let progress = LiveProgress()
    do {
        let measured = try await withThrowingTaskGroup(of: Measured?.self) { tasks in
            tasks.addTask { try await body(group, progress) }
            tasks.addTask {
                await ProgressLine(progress: progress, warmup: warmup).show()
                return nil
            }
            var finished: Measured?
            for try await value in tasks {
                if let value {
                    finished = value
                    tasks.cancelAll()
                }
            }
            return finished!
        }
        try await group.shutdownGracefully()
        return measured
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Drive the targets and measure latency and throughput.")

    @OptionGroup var options: LoadOptions
    @Option(help: "none, session, jwt or both (measured side by side).") var mode: ModeSelection = .both
    @Option(help: "Requests/s in total (open loop, latency from each request's intended start); absent = closed loop.")
    var rate: Double?
    @Option(help: "Open-loop steps run back to back, each measured on its own, e.g. 1000:10s,2000:10s,4000:10s (replaces --rate and --duration).")
    var stages: String?
    @Option(help: "Write the result file (JSON) here.") var json: String?
    @Option(help: "Write result.json and one .hgrm per mode into this folder.") var out: String?

    /// `1000:10s,2000:10s`.
    static func parseStages(_ text: String) throws -> [LoadPlan.Stage] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: ":")
            guard parts.count == 2, let rate = Double(parts[0]), let duration = DurationArgument(argument: String(parts[1])) else {
                throw ValidationError("--stages: '\(item)' is not RATE:DURATION, e.g. 1000:10s")
            }
            return LoadPlan.Stage(rate: rate, duration: duration.amount)
        }
    }

    func run() async throws {
        let plan = try options.plan(modes: mode.modes, rate: rate, stages: try stages.map(Self.parseStages))
        let shape = stages.map { "stages \($0)" } ?? rate.map { "open loop at \(Int($0)) requests/s" } ?? "closed loop"
        FileHandle.standardError.write(Data("authbench-load: \(mode.rawValue), \(shape), \(plan.connections) connections, \(plan.targets.count) target(s), warm-up then measuring...\n".utf8))
        let result = try await options.measure(plan)
        let file = ResultFile(result)
        print(ConsoleTable.render(file))
        if let out {
            try ResultDirectory.write(result, to: URL(fileURLWithPath: out))
            FileHandle.standardError.write(Data("authbench-load: results written to \(out)/\n".utf8))
        }
        if let json {
            try file.encoded().write(to: URL(fileURLWithPath: json))
            FileHandle.standardError.write(Data("authbench-load: results written to \(json)\n".utf8))
        }
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The standard comparison: capacity of none, session and jwt, then both modes in open loop at shares of the lower capacity; results and report in --out.")

    @OptionGroup var options: LoadOptions
    @Option(help: "The results folder; every step writes a sub-folder, the overview report.md goes here.") var out: String
    @Option(help: "Open-loop rates as fractions of the lower capacity, e.g. 0.5,0.8.") var loadLevels = "0.5,0.8"

    func run() async throws {
        let levels = loadLevels.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !levels.isEmpty, levels.count == loadLevels.split(separator: ",").count, levels.allSatisfy({ $0 > 0 && $0 <= 2 }) else {
            throw ValidationError("--load-levels: give fractions between 0 and 2, e.g. 0.5,0.8")
        }
        let comparison = StandardComparison(base: try options.plan(modes: [.session, .jwt]), loadLevels: levels)
        let directory = URL(fileURLWithPath: out)
        let name = options.label.map { "\($0): " } ?? ""
        var capacity: [AuthMode: Double] = [:]
        let total = comparison.capacitySteps.count + 1
        for (index, step) in comparison.capacitySteps.enumerated() {
            let mode = step.plan.modes[0]
            note("\(name)[\(index + 1)/\(total)] capacity of \(mode.rawValue) (closed loop, \(options.duration.text))")
            let result = try await options.measure(step.plan)
            try ResultDirectory.write(result, to: directory.appendingPathComponent(step.folder))
            let run = ResultFile(result).runs[0]
            capacity[mode] = run.throughput_rps
            note("\(name)\(mode.rawValue): \(Int(run.throughput_rps)) requests/s, p99 \(ConsoleTable.micros(run.latency_us.p99)), \(run.errors) errors")
        }
        let step: StandardComparison.Step
        do {
            step = try comparison.openLoopStep(sessionCapacity: capacity[.session] ?? 0, jwtCapacity: capacity[.jwt] ?? 0)
        } catch {
            throw ValidationError(error.description)
        }
        let rates = step.plan.schedule.compactMap(\.rate).map { String(Int($0)) }.joined(separator: " and ")
        note("\(name)[\(total)/\(total)] session and jwt interleaved, open loop at \(rates) requests/s (\(options.duration.text) each)")
        let result = try await options.measure(step.plan)
        try ResultDirectory.write(result, to: directory.appendingPathComponent(step.folder))
        let overview = try BenchReport.write(directory: directory)
        print(overview.summary)
        print(overview.report.path)
    }

    private func note(_ line: String) {
        FileHandle.standardError.write(Data("authbench-load: \(line)\n".utf8))
    }
}

struct Compare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two result files: every metric of every mode, with the ratio B / A.")

    @Argument(help: "The baseline result file.") var baseline: String
    @Argument(help: "The candidate result file; --fail-if applies to it.") var candidate: String
    @Option(name: .customLong("fail-if"), parsing: .singleValue, help: "A condition every run of B must meet, e.g. 'p99<5ms', 'errors<0.1%', 'rps>=1000' (repeatable); exit 1 when one does not.")
    var conditions: [String] = []

    func run() async throws {
        let thresholds: [Threshold]
        do {
            thresholds = try conditions.map { try Threshold($0) }
        } catch {
            throw ValidationError("\(error)")
        }
        let a = try Self.load(baseline)
        let b = try Self.load(candidate)
        let comparison = Comparison(baseline: a, candidate: b)
        guard !comparison.rows.isEmpty else { throw ValidationError("the two files share no mode") }
        print(comparison.render())
        let violations = thresholds.flatMap { $0.violations(in: b) }
        if !violations.isEmpty {
            violations.forEach { print("FAIL \($0)") }
            throw ExitCode(1)
        }
    }

    static func load(_ path: String) throws -> ResultFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        do {
            return try JSONDecoder().decode(ResultFile.self, from: data)
        } catch {
            throw ValidationError("\(path) is not an authbench-load result file")
        }
    }
}

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write report.md and SVG charts from a result folder (authbench-load run --out DIR), or an overview of a folder of them.")

    @Argument(help: "A result folder, or a folder of them (scripts/bench's results/<timestamp>).") var directory: String

    func run() async throws {
        let url = URL(fileURLWithPath: directory)
        do {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent(ResultDirectory.resultFileName).path) {
                print(try ReportWriter.write(directory: url).path)
            } else {
                let overview = try BenchReport.write(directory: url)
                print(overview.summary)
                print(overview.report.path)
            }
        } catch let error as ReportWriter.ReportError {
            throw ValidationError(error.description)
        }
    }
}

/// On a terminal, one line rewritten every second; otherwise a plain line every 5 s.
struct ProgressLine {
    let progress: LiveProgress
    let warmup: TimeAmount

    func show() async {
        let isTerminal = isatty(STDERR_FILENO) == 1
        let start = ContinuousClock.now
        var previous = 0
        var second = 0
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(1)) } catch { break }
            second += 1
            let snapshot = progress.snapshot()
            guard isTerminal || second % 5 == 0 else { continue }
            let elapsed = ContinuousClock.now - start
            let measuring = elapsed > .nanoseconds(warmup.nanoseconds)
            let rate = snapshot.requests - previous
            previous = snapshot.requests
            let p99 = snapshot.recentP99.map { ConsoleTable.micros($0) } ?? "-"
            let line = measuring
                ? "\(elapsed.components.seconds)s  \(isTerminal ? rate : rate / 5) req/s  \(snapshot.errors) errors  p99 \(p99)"
                : "\(elapsed.components.seconds)s  logging in / warming up..."
            FileHandle.standardError.write(Data((isTerminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
        }
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

struct DelayProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delay-proxy",
        abstract: "A TCP proxy adding a delay in each direction without reordering bytes (e.g. between nodes and Redis).")

    @Option(help: "Where to listen, HOST:PORT.") var listen: String
    @Option(help: "Where to forward, HOST:PORT.") var upstream: String
    @Option(help: "Delay in each direction: 0, 500us, 1ms, 2.5ms.") var delay = "0"
    @Option(help: "Uniform jitter around the delay, e.g. 0.2ms.") var jitter = "0"
    @Option(help: "HOST:PORT for changing the delay while running: a line 'delay 2ms [jitter 0.2ms]' or 'get'.")
    var control: String?

    static func address(_ text: String, _ flag: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--\(flag): '\(text)' is not HOST:PORT")
        }
        return (String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }

    func run() async throws {
        let (listenHost, listenPort) = try Self.address(listen, "listen")
        let (upstreamHost, upstreamPort) = try Self.address(upstream, "upstream")
        guard let base = DurationText.parse(delay) else { throw ValidationError("--delay: '\(delay)' is not a duration like 1ms") }
        guard let spread = DurationText.parse(jitter) else { throw ValidationError("--jitter: '\(jitter)' is not a duration like 0.2ms") }
        let proxy = DelayProxy(upstreamHost: upstreamHost, upstreamPort: upstreamPort, delay: .init(base: base, jitter: spread))
        let server: any Channel
        do {
            server = try await proxy.listen(host: listenHost, port: listenPort)
        } catch {
            throw ValidationError("--listen \(listen): \(error)")
        }
        var controlServer: (any Channel)?
        if let control {
            let (host, port) = try Self.address(control, "control")
            do {
                controlServer = try await proxy.listenForControl(host: host, port: port)
            } catch {
                throw ValidationError("--control \(control): \(error)")
            }
        }
        FileHandle.standardError.write(Data("authbench-load: delay-proxy \(listen) -> \(upstream), \(proxy.delay) each way\(control.map { ", control on \($0)" } ?? "")\n".utf8))
        let signals = [SIGINT, SIGTERM].map { signal -> any DispatchSourceSignal in
            Foundation.signal(signal, SIG_IGN)
            return DispatchSource.makeSignalSource(signal: signal, queue: .global())
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = Mutex(false)
            for source in signals {
                source.setEventHandler {
                    if once.withLock({ done in defer { done = true }; return !done }) { continuation.resume() }
                }
                source.resume()
            }
        }
        try? await controlServer?.close()
        try? await server.close()
    }
}

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
    @Option(help: "Event-loop threads driving the connections (default: one per core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount
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
            print("--nodes \(cluster.nodes) --jwt-alg \(cluster.jwtAlgorithm) --revocation \(cluster.revocation) --access-token-ttl \(cluster.accessTokenTTL) --redis-timeout-ms \(cluster.redisTimeoutMs) --revocation-max-staleness-ms \(cluster.revocationMaxStalenessMs)" + (cluster.redisProxy ? " --redis-proxy" : ""))
            return
        }
        if quick { scenario = scenario.scaled(by: scenario.quickScale) }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be from 1 to 256") }
        let secret = password ?? ProcessInfo.processInfo.environment["AUTHBENCH_LOAD_PASSWORD"] ?? ""
        guard !secret.isEmpty else { throw ValidationError("--password (or AUTHBENCH_LOAD_PASSWORD) is needed to log the users in") }
        let seconds = String(format: "%g", Double(scenario.totalDuration.nanoseconds) / 1e9)
        FileHandle.standardError.write(Data("authbench-load: scenario \(scenario.name): \(scenario.phases.count) phase(s), \(seconds) s measured, \(scenario.events.count) event(s)\n".utf8))
        let results: [LoadResult]
        let redisLoad: ScenarioRunner.RedisLoad
        do {
            (results, redisLoad) = try await measureWithProgress(threads: threads, warmup: scenario.warmup) { [scenario, cluster, clusterScript] group, progress in
                try await ScenarioRunner(
                    scenario: scenario, clusterDirectory: cluster, clusterScript: clusterScript, password: secret, group: group,
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
