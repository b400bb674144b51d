import Foundation
import LoadEngine
import LoadReports

/// A scenario's results: each run's files, `scenario.json` (events and claims), and
/// `report.md` with per-second charts marking the events and a reading of the numbers.
public enum ScenarioReport {
    public struct Verdict: Codable, Sendable, Equatable {
        public var claim: String
        public var holds: Bool
        public var detail: String
    }

    public struct Summary: Codable, Sendable {
        public var name: String
        public var description: String
        public var events: [EventRecord]
        public var verdicts: [Verdict]
        public var parts: [String]
        /// Redis commands the nodes sent during the run (logins and warm-up included).
        public var redis_commands: [String: Double]?
        public var redis_seconds: Double?
    }

    /// Every claim of the scenario against the numbers.
    public static func verdicts(_ scenario: Scenario, files: [ResultFile]) -> [Verdict] {
        let events = files.flatMap { $0.events ?? [] }
        return scenario.expectations.map { expectation in
            let mode = expectation.mode
            let runs = files.flatMap { file in file.runs.filter { $0.mode == mode }.map { (file, $0) } }
            switch expectation.kind {
            case .threshold(let threshold):
                let violations = files.flatMap { file in
                    var only = file
                    only.runs = file.runs.filter { $0.mode == mode }
                    return threshold.violations(in: only)
                }
                return Verdict(claim: expectation.description, holds: violations.isEmpty && !runs.isEmpty, detail: violations.isEmpty ? measured(threshold, runs.map(\.1)) : violations.joined(separator: "; "))
            case .relogins(let max):
                let count = runs.reduce(0) { $0 + ($1.1.relogins ?? 0) }
                return Verdict(claim: expectation.description, holds: count <= max, detail: "\(count) re-login(s)")
            case .staleAccepts(let max):
                let counts = events.compactMap { $0.values?[Scenario.Expectation.Kind.staleAcceptsValueName(mode)] }
                guard !counts.isEmpty else {
                    return Verdict(claim: expectation.description, holds: false, detail: "no deleted session was watched for \(mode.rawValue)")
                }
                let count = Int(counts.reduce(0, +))
                return Verdict(
                    claim: expectation.description, holds: count <= max,
                    detail: "\(count) request(s) accepted after the node had refused the deleted session")
            case .status(let code, let atLeast):
                let count = runs.reduce(0) { $0 + ($1.1.status_counts[String(code)] ?? 0) }
                return Verdict(claim: expectation.description, holds: count >= atLeast, detail: "\(count) response(s) with status \(code)")
            case .caughtUp(let measure, let within):
                let (event, caughtUp) = switch measure {
                case .revoked: ("revocation", "refused by every node")
                case .demoted: ("role change", "every node had taken the change")
                case .staleWindow: ("session deletion", "the last accept came")
                }
                guard let slowest = events.compactMap({ $0.values?[measure.valueName(mode)] }).max() else {
                    return Verdict(claim: expectation.description, holds: false, detail: "no \(event) was measured for \(mode.rawValue)")
                }
                return Verdict(
                    claim: expectation.description, holds: slowest < Double(within.nanoseconds) / 1e9,
                    detail: "\(caughtUp) after \(SVGChart.number(slowest * 1000)) ms")
            }
        }
    }

    private static func measured(_ threshold: Threshold, _ runs: [ResultFile.Run]) -> String {
        runs.map { run in
            let value = threshold.value(of: run)
            let text = switch threshold.metric {
            case .errors: "\(SVGChart.number(value))%"
            case .rps: "\(Int(value))/s"
            default: ConsoleTable.micros(UInt64(value))
            }
            return "\(run.label) \(text)"
        }.joined(separator: ", ")
    }

    /// Writes everything into `directory`; returns the report's path, the verdicts and the summary table.
    public static func write(
        _ scenario: Scenario, results: [LoadResult], redis: ScenarioRunner.RedisLoad? = nil, to directory: URL
    ) throws -> (report: URL, verdicts: [Verdict], summary: String) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var parts: [String] = []
        var files: [ResultFile] = []
        for (index, result) in results.enumerated() {
            let part = results.count == 1 ? "" : "part-\(index + 1)"
            try ResultDirectory.write(result, to: part.isEmpty ? directory : directory.appendingPathComponent(part))
            parts.append(part)
            files.append(ResultFile(result))
        }
        let verdicts = verdicts(scenario, files: files)
        let summary = Summary(
            name: scenario.name, description: scenario.description, events: files.flatMap { $0.events ?? [] }, verdicts: verdicts,
            parts: parts.filter { !$0.isEmpty }, redis_commands: redis?.commands, redis_seconds: redis?.seconds)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(summary).write(to: directory.appendingPathComponent("scenario.json"))

        var charts: [String] = []
        for (index, file) in files.enumerated() {
            let prefix = files.count == 1 ? "" : "part-\(index + 1)-"
            for (name, svg) in timeCharts(file) {
                try svg.write(to: directory.appendingPathComponent(prefix + name), atomically: true, encoding: .utf8)
                charts.append(prefix + name)
            }
        }
        let reportURL = directory.appendingPathComponent("report.md")
        try markdown(scenario, files: files, verdicts: verdicts, charts: charts, redis: redis).write(to: reportURL, atomically: true, encoding: .utf8)
        let table = files.map { file in
            (files.count > 1 ? (file.config.label ?? "") + "\n" : "") + ConsoleTable.render(file)
        }.joined(separator: "\n")
        return (reportURL, verdicts, table)
    }

    /// A mode's per-second points with its stages end to end: (second, rps, p99 ms, errors).
    static func timeline(_ file: ResultFile, mode: AuthMode) -> [(t: Double, rps: Double, p99: Double, errors: Int)] {
        var offset = 0.0
        var points: [(Double, Double, Double, Int)] = []
        for run in file.runs.filter({ $0.mode == mode }).sorted(by: { ($0.stage ?? 0) < ($1.stage ?? 0) }) {
            points += run.per_second.map { (offset + Double($0.t), Double($0.rps), Double($0.p99_us) / 1000, $0.errors) }
            offset += run.duration_s
        }
        return points
    }

    static func timeCharts(_ file: ResultFile) -> [(String, String)] {
        let modes = Array(Set(file.runs.map(\.mode))).sorted()
        let markers = (file.events ?? []).map { (x: $0.at_s, label: $0.name) }
        func series(_ value: @escaping ((t: Double, rps: Double, p99: Double, errors: Int)) -> Double) -> [SVGChart.Series] {
            modes.map { mode in
                let points = timeline(file, mode: mode)
                return SVGChart.Series(
                    name: mode.rawValue, color: SVGChart.palette[mode] ?? "#2ca02c", points: points.map { ($0.t, value($0)) },
                    marks: points.filter { $0.errors > 0 }.map(\.t))
            }
        }
        return [
            ("requests-per-second.svg", SVGChart(
                title: "Requests per second", xLabel: "second of the measured time", yLabel: "requests/s",
                series: series(\.rps), markers: markers).render()),
            ("p99-per-second.svg", SVGChart(
                title: "p99 latency per second", xLabel: "second of the measured time", yLabel: "p99 (ms)",
                series: series(\.p99), markers: markers).render()),
            ("errors-per-second.svg", SVGChart(
                title: "Failed requests per second", xLabel: "second of the measured time", yLabel: "errors/s",
                series: series { Double($0.errors) }, markers: markers).render()),
        ]
    }

    static func markdown(_ scenario: Scenario, files: [ResultFile], verdicts: [Verdict], charts: [String], redis: ScenarioRunner.RedisLoad? = nil) -> String {
        let cluster = scenario.cluster
        var lines = [
            "# Scenario \(scenario.name)", "",
            scenario.description.trimmingCharacters(in: .whitespacesAndNewlines), "",
            "Cluster: \(cluster.nodes) node(s), \(cluster.jwtAlgorithm), revocation \(cluster.revocation), access tokens for \(cluster.accessTokenTTL) s, "
                + "Redis timeout \(cluster.redisTimeoutMs) ms, revocation list stale after \(cluster.revocationMaxStalenessMs) ms"
                + "\(cluster.redisProxy ? ", Redis behind a delay proxy" : ""). "
                + "Load: \(scenario.modes.map(\.rawValue).joined(separator: " and ")), \(scenario.connections) connections, \(scenario.users) users per mode, "
                + "\(SVGChart.number(Double(scenario.warmup.nanoseconds) / 1e9)) s warm-up.",
        ]
        let events = files.flatMap { $0.events ?? [] }
        if !events.isEmpty {
            lines += ["", "## Events", "", "| at | event | outcome |", "|---:|---|---|"]
            lines += events.map { "| \(SVGChart.number($0.at_s)) s | \($0.name) | \($0.ok ? "" : "FAILED: ")\($0.detail) |" }
        }
        if !verdicts.isEmpty {
            lines += ["", "## Claims", "", "| claim | holds | measured |", "|---|---|---|"]
            lines += verdicts.map { "| \($0.claim) | \($0.holds ? "yes" : "**NO**") | \($0.detail) |" }
        }
        for file in files {
            lines += ["", "## \(file.config.label ?? scenario.name): every phase", "", "| phase | mode | requests/s | p50 | p90 | p99 | p99.9 | max | errors |", "|---|---|---:|---:|---:|---:|---:|---:|---|"]
            for run in file.runs {
                let phase = run.stage.map { "\($0)" } ?? "1"
                lines.append("| \(phase) | \(run.label) | " + ConsoleTable.cells(run).joined(separator: " | ") + " |")
            }
        }
        lines.append("")
        for chart in charts { lines += ["![\(chart)](\(chart))", ""] }
        lines += ["## Reading", ""] + reading(scenario, files: files, verdicts: verdicts, redis: redis).map { "- \($0)" } + [""]
        return lines.joined(separator: "\n")
    }

    /// What the numbers show, event by event and phase by phase.
    static func reading(_ scenario: Scenario, files: [ResultFile], verdicts: [Verdict], redis: ScenarioRunner.RedisLoad? = nil) -> [String] {
        var sentences: [String] = []
        for file in files {
            let prefix = files.count > 1 ? "\(file.config.label ?? ""): " : ""
            let modes = Array(Set(file.runs.map(\.mode))).sorted()
            let stages = Set(file.runs.map { $0.stage ?? 1 }).sorted()
            let firstMode = file.runs.first?.mode
            let stageStarts = file.runs.filter { $0.mode == firstMode }.sorted { ($0.stage ?? 1) < ($1.stage ?? 1) }
                .reduce(into: [0.0]) { $0.append($0.last! + $1.duration_s) }
            for stage in stages where stages.count > 1 || (file.events ?? []).isEmpty {
                let runs = file.runs.filter { ($0.stage ?? 1) == stage }
                let start = stageStarts[min(stage - 1, stageStarts.count - 1)]
                let opening = (file.events ?? []).filter { stage > 1 && $0.at_s >= start && $0.at_s < start + 1 }.map(\.name)
                let after = opening.isEmpty ? "" : " (after \(opening.joined(separator: ", ")))"
                sentences.append(prefix + "Phase \(stage)\(after): " + runs.map { run in
                    "\(run.mode.rawValue) \(Int(run.throughput_rps)) requests/s, p50 \(ConsoleTable.micros(run.latency_us.p50)), p99 \(ConsoleTable.micros(run.latency_us.p99)), "
                        + "\(run.errors) errors"
                }.joined(separator: "; ") + ".")
            }
            let events = file.events ?? []
            let end = file.runs.filter { $0.mode == modes.first }.reduce(0) { $0 + $1.duration_s }
            if let first = events.first {
                let before = modes.map { mode -> String in
                    let errors = timeline(file, mode: mode).filter { $0.t < floor(first.at_s) }.reduce(0) { $0 + $1.errors }
                    return "\(mode.rawValue) \(errors)"
                }
                sentences.append(prefix + "Before the first event: errors " + before.joined(separator: ", ") + ".")
            }
            for (index, event) in events.enumerated() {
                let windowEnd = index + 1 < events.count ? events[index + 1].at_s : end
                let windowed = modes.map { mode -> String in
                    let seconds = timeline(file, mode: mode).filter { $0.t >= floor(event.at_s) && $0.t < windowEnd }
                    let errors = seconds.reduce(0) { $0 + $1.errors }
                    let worst = seconds.map(\.p99).max() ?? 0
                    let last = seconds.last { $0.errors > 0 }.map { " (the last in second \(SVGChart.number($0.t)))" } ?? ""
                    return "\(mode.rawValue) \(errors) errors\(last), p99 up to \(ConsoleTable.micros(UInt64(worst * 1000)))"
                }
                let outcome = event.ok ? (event.values == nil ? "" : " \(event.detail).") : " The event FAILED: \(event.detail)."
                sentences.append(prefix + "From \(event.name) at \(SVGChart.number(event.at_s)) s to \(SVGChart.number(windowEnd)) s: "
                    + windowed.joined(separator: "; ") + "." + outcome)
            }
            for mode in modes {
                let causes = file.runs.filter { $0.mode == mode }.reduce(into: [String: Int]()) { totals, run in
                    for (cause, count) in run.errors_by_cause { totals[cause, default: 0] += count }
                }
                let relogins = file.runs.filter { $0.mode == mode }.reduce(0) { $0 + ($1.relogins ?? 0) }
                let requests = file.runs.filter { $0.mode == mode }.reduce(0) { $0 + $1.requests }
                let failed = causes.values.reduce(0, +)
                let modeRuns = file.runs.filter { $0.mode == mode }
                let refreshes = modeRuns.reduce(0) { $0 + ($1.refreshes ?? 0) }
                let refreshLatency = modeRuns.compactMap(\.refresh_latency_us).first
                if refreshes > 0, let latency = refreshLatency {
                    sentences.append(prefix + "\(mode.rawValue): \(refreshes) token refreshes during the measured time "
                        + "(\(SVGChart.number(100 * Double(refreshes) / Double(max(modeRuns.reduce(0) { $0 + $1.requests }, 1))))% of requests), "
                        + "each p50 \(ConsoleTable.micros(latency.p50)), p99 \(ConsoleTable.micros(latency.p99)) "
                        + "(the generator refreshes on a connection of its own, so a TCP connect is included).")
                }
                sentences.append(prefix + "\(mode.rawValue): \(failed) of \(requests) requests failed (\(SVGChart.number(100 * Double(failed) / Double(max(requests, 1))))%)"
                    + (causes.isEmpty ? "" : ": " + causes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                    + (mode == AuthMode.none ? "." : "; \(relogins) user(s) had to log in again."))
            }
        }
        if files.count > 1 {
            let modes = Array(Set(files.flatMap { $0.runs.map(\.mode) })).sorted()
            sentences.append("Side by side: " + modes.map { mode in
                "\(mode.rawValue) " + files.map { file in
                    "\(Int(file.runs.filter { $0.mode == mode }.map(\.throughput_rps).reduce(0, +))) requests/s (\(file.config.label ?? ""))"
                }.joined(separator: ", ")
            }.joined(separator: "; ") + ".")
        }
        if let redis, !redis.commands.isEmpty, redis.seconds > 0 {
            sentences.append("Redis load from the nodes over the whole run (\(SVGChart.number(redis.seconds)) s, logins included): "
                + redis.commands.sorted { $0.value > $1.value }.map { command, count in
                    "\(command) \(BenchReport.grouped(count)) (\(BenchReport.grouped(count / redis.seconds))/s)"
                }.joined(separator: ", ") + ".")
        }
        let failed = verdicts.filter { !$0.holds }
        if !verdicts.isEmpty {
            sentences.append(failed.isEmpty
                ? "All \(verdicts.count) claims of the scenario held."
                : "Claims that did NOT hold: " + failed.map { "\($0.claim) (\($0.detail))" }.joined(separator: "; ") + ".")
        }
        return sentences
    }
}
