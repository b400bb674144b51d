import Foundation
import LoadEngine

/// The report of a folder of result folders, as `scripts/bench` writes it: each step's own report,
/// then an overview `report.md` with one table over all steps, a capacity chart and a plain reading.
/// What each step was is read from its result file: closed loop = capacity, open loop = a load level.
public enum BenchReport {
    public struct Step: Sendable {
        public var folder: String
        public var file: ResultFile

        var isCapacity: Bool { file.config.rate == nil && file.config.stages == nil }
        var label: String { file.config.label ?? "" }
    }

    /// Every sub-folder holding a result file, in the order they were run.
    public static func steps(in directory: URL) throws -> [Step] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var steps: [Step] = []
        for name in names {
            let url = directory.appendingPathComponent(name).appendingPathComponent(ResultDirectory.resultFileName)
            guard let data = FileManager.default.contents(atPath: url.path) else { continue }
            do {
                steps.append(Step(folder: name, file: try JSONDecoder().decode(ResultFile.self, from: data)))
            } catch {
                throw ReportWriter.ReportError(description: "\(url.path) is not an authbench-load result file")
            }
        }
        return steps.sorted { ($0.file.started_at, $0.folder) < ($1.file.started_at, $1.folder) }
    }

    /// Writes every step's report and the overview; returns the overview's path and the summary table.
    public static func write(directory: URL, projection: CostReport.Projection = .standard) throws -> (report: URL, summary: String) {
        let steps = try steps(in: directory)
        guard !steps.isEmpty else {
            throw ReportWriter.ReportError(
                description: "no \(ResultDirectory.resultFileName) in \(directory.path) or its sub-folders: run authbench-load run --out DIR first")
        }
        for step in steps { try ReportWriter.write(directory: directory.appendingPathComponent(step.folder)) }
        var charts: [String] = []
        let severalLabels = Set(steps.map(\.label)).count > 1
        let capacityBars = steps.filter(\.isCapacity).flatMap { step in
            step.file.runs.map { run in
                SVGBarChart.Bar(
                    name: severalLabels ? "\(step.label) · \(run.mode.rawValue)" : modeName(run.mode, step),
                    color: SVGChart.palette[run.mode] ?? "#2ca02c", value: run.throughput_rps, valueLabel: "\(grouped(run.throughput_rps))/s")
            }
        }
        if !capacityBars.isEmpty {
            let svg = SVGBarChart(title: "Capacity (closed loop)", unit: "requests/s", bars: capacityBars).render()
            try svg.write(to: directory.appendingPathComponent("capacity.svg"), atomically: true, encoding: .utf8)
            charts.append("capacity.svg")
        }
        for step in steps where !step.isCapacity {
            let chart = "\(step.folder)/latency-by-percentile.svg"
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent(chart).path) { charts.append(chart) }
        }
        let contenders = CostReport.perRequest(steps)
        var costChart: String?
        if !contenders.isEmpty {
            let bars = contenders.map { contender in
                SVGBarChart.Bar(
                    name: contender.name, color: SVGChart.palette[contender.mode] ?? "#2ca02c", value: contender.clusterCPU,
                    valueLabel: CostReport.micros(contender.clusterCPU))
            }
            let svg = SVGBarChart(title: "Cluster CPU per request (node + Redis + load balancer)", unit: "µs", bars: bars).render()
            try svg.write(to: directory.appendingPathComponent("cost-per-request.svg"), atomically: true, encoding: .utf8)
            costChart = "cost-per-request.svg"
        }
        let costs = CostReport.markdown(steps, operations: CostReport.operations(in: directory, steps: steps), projection: projection, chart: costChart)
        let setup = (try? String(contentsOf: directory.appendingPathComponent("setup.txt"), encoding: .utf8))
        let reportURL = directory.appendingPathComponent("report.md")
        try markdown(steps, setup: setup, charts: charts, costs: costs).write(to: reportURL, atomically: true, encoding: .utf8)
        return (reportURL, summaryTable(steps))
    }

    /// One row per mode of every step.
    public static func summaryTable(_ steps: [Step]) -> String {
        let header = ["step", "mode", "requests/s", "p50", "p90", "p99", "p99.9", "max", "errors"]
        return ConsoleTable.aligned(header: header, rows: rows(steps).map { [$0.step, $0.mode] + $0.cells }, textColumns: 2)
    }

    static func rows(_ steps: [Step]) -> [(step: String, mode: String, cells: [String])] {
        steps.flatMap { step in
            step.file.runs.map { run in
                (stepName(step, run, lowerCapacity: lowerCapacity(steps, label: step.label)), modeName(run.mode, step), ConsoleTable.cells(run))
            }
        }
    }

    static func markdown(_ steps: [Step], setup: String?, charts: [String], costs: [String] = []) -> String {
        var lines = ["# AuthBench: sessions or JWTs?", ""]
        if let first = steps.first {
            let config = (steps.first { !$0.file.config.modes.contains(AuthMode.none) } ?? first).file.config
            lines.append("Measured by \(first.file.tool) \(first.file.version) from \(first.file.started_at), through "
                + "\(config.targets.joined(separator: ", ")), path `\(config.path)`, \(config.connections) connections, "
                + "\(config.users) virtual users per mode, \(SVGChart.number(config.duration_s)) s measured per step after \(SVGChart.number(config.warmup_s)) s warm-up.")
        }
        if let setup, !setup.isEmpty {
            lines += [""] + setup.split(separator: "\n").map { "- \($0)" }
        }
        lines += ["", "## Reading", ""] + reading(steps).map { "- \($0)" }
        lines += ["", "## Every step", "", "| step | mode | requests/s | p50 | p90 | p99 | p99.9 | max | errors |", "|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for row in rows(steps) {
            lines.append("| \(row.step) | \(row.mode) | " + row.cells.joined(separator: " | ") + " |")
        }
        lines += ["", "Open-loop latency counts from each request's intended start (coordinated omission corrected). "
            + "Each step's own report, with its per-second charts and `.hgrm` files: "
            + steps.map { "[\($0.folder)](\($0.folder)/report.md)" }.joined(separator: ", ") + ".", ""]
        for chart in charts { lines += ["![\(chart)](\(chart))", ""] }
        if !costs.isEmpty { lines += costs + [""] }
        return lines.joined(separator: "\n")
    }

    /// Plain sentences from the numbers; nothing here is assumed that the steps did not measure.
    static func reading(_ steps: [Step]) -> [String] {
        var sentences: [String] = []
        var labels: [String] = []
        for step in steps where !labels.contains(step.label) { labels.append(step.label) }
        for label in labels {
            let group = steps.filter { $0.label == label }
            let closed = capacities(group)
            let title = label.isEmpty ? "" : " (\(label))"
            if let session = closed.first(where: { $0.mode == .session }), let jwt = closed.first(where: { $0.mode == .jwt }) {
                let ratio = jwt.rps / session.rps
                var text = "**Capacity\(title).** \(jwt.name) served \(grouped(jwt.rps)) requests/s and sessions \(grouped(session.rps)): "
                    + (ratio >= 1 ? "JWT carried \(times(ratio)) what sessions did." : "sessions carried \(times(1 / ratio)) what JWT did.")
                if let baseline = closed.first(where: { $0.mode == AuthMode.none }), baseline.rps > 0 {
                    let path = group.first { $0.isCapacity && $0.file.runs.contains { $0.mode == AuthMode.none } }?.file.config.path ?? "?"
                    text += " Without authentication (`\(path)`) the same cluster served \(grouped(baseline.rps)); sessions kept \(percent(session.rps / baseline.rps)) of that, "
                        + "JWT \(percent(jwt.rps / baseline.rps))."
                }
                if let cached = closed.first(where: { $0.mode == .cachedSession }) {
                    text += " Sessions answered from the nodes' memory (`session-cached`) served \(grouped(cached.rps)): \(times(cached.rps / session.rps)) "
                        + "what sessions read from Redis on every request did, \(times(cached.rps / jwt.rps)) \(jwt.name)"
                    if let baseline = closed.first(where: { $0.mode == AuthMode.none }), baseline.rps > 0 {
                        text += ", \(percent(cached.rps / baseline.rps)) of the unauthenticated route"
                    }
                    text += "."
                }
                sentences.append(text)
            }
            let lower = lowerCapacity(steps, label: label)
            for step in group where !step.isCapacity {
                for stage in Set(step.file.runs.map { $0.stage ?? 0 }).sorted() {
                    let runs = step.file.runs.filter { ($0.stage ?? 0) == stage }
                    guard runs.contains(where: { $0.mode == .session }), runs.contains(where: { $0.mode == .jwt }) else { continue }
                    let contenders = runs.filter { $0.mode != AuthMode.none }.sorted { order($0.mode) < order($1.mode) }
                    let total = runs.compactMap(\.requested_rate_rps).reduce(0, +)
                    let load = lower.map { ", \(percent(total / $0)) of the \(contenders.count == 2 ? "lower" : "lowest") capacity" } ?? ""
                    let p50 = contenders.map { "\($0.mode == .session ? "sessions" : modeName($0.mode, step)) \(ConsoleTable.micros($0.latency_us.p50))" }
                    func values(_ percentile: KeyPath<ResultFile.Percentiles, UInt64>) -> String {
                        contenders.map { ConsoleTable.micros($0.latency_us[keyPath: percentile]) }.joined(separator: " vs ")
                    }
                    sentences.append("**Latency at \(grouped(total)) requests/s\(title)\(load)**, \(contenders.count == 2 ? "half" : "about a third") of it each mode: "
                        + "p50 \(p50.joined(separator: " vs ")); p99 \(values(\.p99)); p99.9 \(values(\.p999)).")
                }
            }
        }
        let jwts = capacities(steps).filter { $0.mode == .jwt }
        if let first = jwts.first, first.rps > 0, jwts.count > 1 {
            sentences.append("**Signing algorithms.** " + jwts.map { "\($0.name) \(grouped($0.rps)) requests/s" + ($0.name == first.name ? "" : " (\(times($0.rps / first.rps)) \(first.name))") }
                .joined(separator: ", ") + ": the verification each request pays is the difference.")
        }
        let baselines = capacities(steps).filter { $0.mode == AuthMode.none }.map(\.rps)
        if baselines.count > 1, let low = baselines.min(), let high = baselines.max(), low > 0 {
            let spread = high / low - 1
            let apart = spread < 0.1 ? String(format: "%.1f%%", spread * 100) : percent(spread)
            sentences.append("**Noise.** The same baseline measured \(baselines.map { grouped($0) }.joined(separator: " and ")) requests/s on identical clusters "
                + (spread < 0.05
                    ? "(\(apart) apart): the machine was steady through this run, so capacities that differ by a few percent or more are findings (two baselines say nothing about how steady the tails were)."
                    : "(\(apart) apart): differences between steps smaller than that are within this machine's run-to-run noise."))
        }
        let failed = steps.flatMap { step in step.file.runs.filter { $0.errors > 0 }.map { (step, $0) } }
        if failed.isEmpty {
            sentences.append("**Failures.** No request failed in any step.")
        } else {
            sentences.append("**Failures.** " + failed.map { step, run in
                "\(step.folder) \(run.label): \(run.errors) (" + run.errors_by_cause.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
            }.joined(separator: "; ") + ".")
        }
        let behind = steps.flatMap { step in
            step.file.runs.compactMap { run -> String? in
                guard let asked = run.requested_rate_rps, run.throughput_rps < asked * 0.98 else { return nil }
                return "\(step.folder) \(run.label) reached \(grouped(run.throughput_rps)) of \(grouped(asked)) requests/s"
            }
        }
        if !behind.isEmpty {
            sentences.append("**Fell behind.** " + behind.joined(separator: "; ") + ": the cluster or the generator was saturated there; its corrected latency includes the queueing.")
        }
        sentences.append("**Where it ran.** Redis, nodes, load balancer and generator shared one machine, so a session's Redis round trip is a loopback hop "
            + "and every process competes for the same cores; with Redis a network away each session request also pays that network round trip.")
        return sentences
    }

    /// Closed-loop throughput of every mode: (display name, mode, requests/s).
    static func capacities(_ steps: [Step]) -> [(name: String, mode: AuthMode, rps: Double)] {
        steps.filter(\.isCapacity).flatMap { step in
            step.file.runs.map { (modeName($0.mode, step), $0.mode, $0.throughput_rps) }
        }
    }

    /// The lowest contender capacity measured under `label`: what its open-loop rates are a share of.
    static func lowerCapacity(_ steps: [Step], label: String) -> Double? {
        let closed = capacities(steps.filter { $0.label == label }).filter { $0.mode != AuthMode.none }
        guard closed.contains(where: { $0.mode == .session }), closed.contains(where: { $0.mode == .jwt }) else { return nil }
        return closed.map(\.rps).min()
    }

    /// The order contenders are listed in: sessions, cached sessions, tokens.
    static func order(_ mode: AuthMode) -> Int {
        switch mode {
        case .none: 0
        case .session: 1
        case .cachedSession: 2
        case .jwt: 3
        }
    }

    static func modeName(_ mode: AuthMode, _ step: Step) -> String {
        mode == .jwt && !step.label.isEmpty ? "jwt \(step.label)" : mode.rawValue
    }

    static func stepName(_ step: Step, _ run: ResultFile.Run, lowerCapacity: Double?) -> String {
        let prefix = step.label.isEmpty ? "" : step.label + " "
        if step.isCapacity { return prefix + "capacity" }
        let total = step.file.runs.filter { $0.stage == run.stage }.compactMap(\.requested_rate_rps).reduce(0, +)
        let share = lowerCapacity.map { " (\(percent(total / $0)))" } ?? ""
        return prefix + "open loop \(grouped(total))/s\(share)"
    }

    /// A count with thousands separated: 27,461.
    public static func grouped(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var result = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0 && index % 3 == 0 && character != "-" { result.append(",") }
            result.append(character)
        }
        return String(result.reversed())
    }

    static func percent(_ fraction: Double) -> String { "\(Int((fraction * 100).rounded()))%" }

    static func times(_ ratio: Double) -> String { String(format: "%.2f×", ratio) }
}
