import ArgumentParser
import Foundation
import LoadKit
import NIOCore
import NIOPosix

@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authbench-load",
        abstract: "Measures AuthBench nodes: sessions and JWTs side by side.",
        subcommands: [Run.self, Compare.self, Report.self]
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

    init?(argument: String) {
        let units: [(String, Int64)] = [("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000)]
        for (suffix, nanoseconds) in units where argument.hasSuffix(suffix) {
            guard let value = Double(argument.dropLast(suffix.count)), value >= 0 else { return nil }
            amount = .nanoseconds(Int64(value * Double(nanoseconds)))
            return
        }
        return nil
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Drive the targets and measure latency and throughput.")

    @Option(help: "Comma-separated http://host:port targets, used round-robin.") var targets: String
    @Option(help: "none, session, jwt or both (measured side by side).") var mode: ModeSelection = .both
    @Option(help: "The path requested.") var path = "/api/me"
    @Option(help: "Requests/s in total (open loop, latency from each request's intended start); absent = closed loop.")
    var rate: Double?
    @Option(help: "Keep-alive connections.") var connections = 32
    @Option(help: "Virtual users logged in before the measured phase.") var users = 32
    @Option(help: "Username prefix of the virtual users (user1, user2, ...).") var userPrefix = "user"
    @Option(help: "Their password (AUTHBENCH_LOAD_PASSWORD if absent).") var password: String?
    @Option(help: "Measured phase, e.g. 30s.") var duration = DurationArgument(argument: "30s")!
    @Option(help: "Open-loop steps run back to back, each measured on its own, e.g. 1000:10s,2000:10s,4000:10s (replaces --rate and --duration).")
    var stages: String?
    @Option(help: "Warm-up before it, not recorded, e.g. 5s.") var warmup = DurationArgument(argument: "5s")!
    @Option(help: "Write the result file (JSON) here.") var json: String?
    @Option(help: "Write result.json and one .hgrm per mode into this folder.") var out: String?
    @Option(help: "Event-loop threads driving the connections (default: one per core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

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
        let parsedTargets: [Target]
        do {
            parsedTargets = try targets.split(separator: ",").map { try Target(url: String($0).trimmingCharacters(in: .whitespaces)) }
        } catch {
            throw ValidationError("--targets: \(error)")
        }
        let parsedStages = try stages.map(Self.parseStages)
        let plan = LoadPlan(
            targets: parsedTargets, modes: mode.modes, path: path, rate: rate, connections: connections, users: users,
            userPrefix: userPrefix, password: password ?? ProcessInfo.processInfo.environment["AUTHBENCH_LOAD_PASSWORD"] ?? "",
            duration: duration.amount, warmup: warmup.amount, stages: parsedStages)
        do {
            try plan.validate()
        } catch {
            throw ValidationError(error.description)
        }
        let shape = stages.map { "stages \($0)" } ?? rate.map { "open loop at \(Int($0)) requests/s" } ?? "closed loop"
        FileHandle.standardError.write(Data("authbench-load: \(mode.rawValue), \(shape), \(connections) connections, \(parsedTargets.count) target(s), warm-up then measuring...\n".utf8))
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be from 1 to 256") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let progress = LiveProgress()
        let result: LoadResult
        do {
            result = try await withThrowingTaskGroup(of: LoadResult?.self) { tasks in
                tasks.addTask { try await LoadRunner(plan: plan, group: group, progress: progress).run() }
                tasks.addTask {
                    await ProgressLine(progress: progress, warmup: warmup.amount).show()
                    return nil
                }
                var finished: LoadResult?
                for try await value in tasks {
                    if let value {
                        finished = value
                        tasks.cancelAll()
                    }
                }
                return finished!
            }
            try await group.shutdownGracefully()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
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
        abstract: "Write report.md and SVG charts from a result folder (authbench-load run --out DIR).")

    @Argument(help: "The result folder.") var directory: String

    func run() async throws {
        do {
            let report = try ReportWriter.write(directory: URL(fileURLWithPath: directory))
            print(report.path)
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
