import ArgumentParser
import Foundation
import LoadEngine
import LoadReports
import NIOCore
import NIOPosix

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

    var defaultValueDescription: String { text }
}

/// `--threads`: event loops driving the connections; absent, one per core of the machine it runs on.
struct ThreadsOption: ParsableArguments {
    @Option(help: "Event-loop threads driving the connections; one per core when absent.") var threads: Int?

    func count() throws -> Int {
        let count = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard (1...256).contains(count) else { throw ValidationError("--threads must be from 1 to 256") }
        return count
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
    @OptionGroup var threads: ThreadsOption

    func plan(modes: [AuthMode], rate: Double? = nil, stages: [LoadPlan.Stage]? = nil) throws -> LoadPlan {
        let parsedTargets: [Target]
        do {
            parsedTargets = try targets.split(separator: ",").map { try Target(url: String($0).trimmingCharacters(in: .whitespaces)) }
        } catch {
            throw ValidationError("--targets: \(error)")
        }
        _ = try threads.count()
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
    func measure(_ plan: LoadPlan, meter: (any ResourceMeter)? = nil) async throws -> LoadResult {
        try await measureWithProgress(threads: try threads.count(), warmup: plan.warmup) { group, progress in
            try await LoadRunner(plan: plan, group: group, progress: progress, meter: meter).run()
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
