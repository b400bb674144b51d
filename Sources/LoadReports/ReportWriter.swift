import Foundation
import LoadEngine

/// `authbench-load report DIR`: `report.md` and its SVG charts from the result folder.
public enum ReportWriter {
    public struct ReportError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Writes the report; returns the path of `report.md`.
    @discardableResult
    public static func write(directory: URL) throws -> URL {
        let resultURL = directory.appendingPathComponent(ResultDirectory.resultFileName)
        guard let data = FileManager.default.contents(atPath: resultURL.path) else {
            throw ReportError(description: "no \(ResultDirectory.resultFileName) in \(directory.path): run authbench-load run --out \(directory.path) first")
        }
        let file: ResultFile
        do {
            file = try JSONDecoder().decode(ResultFile.self, from: data)
        } catch {
            throw ReportError(description: "\(resultURL.path) is not an authbench-load result file")
        }

        var charts: [(String, String)] = []
        let percentileSeries = file.runs.compactMap { run -> SVGChart.Series? in
            let path = directory.appendingPathComponent(run.hgrmFileName).path
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            let points = percentilePoints(hgrm: text)
            return points.isEmpty ? nil : SVGChart.Series(name: run.label, color: color(run), points: points)
        }
        if !percentileSeries.isEmpty {
            let ticks = [(0.0, "0%"), (1, "90%"), (2, "99%"), (3, "99.9%"), (4, "99.99%"), (5, "99.999%")]
            charts.append(("latency-by-percentile.svg", SVGChart(
                title: "Latency by percentile", xLabel: "percentile", yLabel: "latency (ms)",
                series: percentileSeries, xTicks: ticks).render()))
        }
        charts.append(("throughput-over-time.svg", SVGChart(
            title: "Requests per second", xLabel: "second of the measured phase", yLabel: "requests/s",
            series: file.runs.map { run in
                SVGChart.Series(
                    name: run.label, color: color(run), points: run.per_second.map { (Double($0.t), Double($0.rps)) },
                    marks: run.per_second.filter { $0.errors > 0 }.map { Double($0.t) })
            }).render()))
        charts.append(("p99-over-time.svg", SVGChart(
            title: "p99 latency per second", xLabel: "second of the measured phase", yLabel: "p99 (ms)",
            series: file.runs.map { run in
                SVGChart.Series(
                    name: run.label, color: color(run), points: run.per_second.map { (Double($0.t), Double($0.p99_us) / 1000) },
                    marks: run.per_second.filter { $0.errors > 0 }.map { Double($0.t) })
            }).render()))
        for (name, svg) in charts {
            try svg.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let reportURL = directory.appendingPathComponent("report.md")
        try markdown(file, charts: charts.map(\.0)).write(to: reportURL, atomically: true, encoding: .utf8)
        return reportURL
    }

    static func markdown(_ file: ResultFile, charts: [String]) -> String {
        let config = file.config
        var lines = [
            "# AuthBench result",
            "",
            "Started \(file.started_at) by \(file.tool) \(file.version). Targets: \(config.targets.joined(separator: ", ")); "
                + "path `\(config.path)`; \(config.rate.map { "open loop at \(Int($0)) requests/s" } ?? "closed loop"); "
                + "\(config.connections) connections; \(config.users) virtual users; \(SVGChart.number(config.warmup_s)) s warm-up, "
                + "\(SVGChart.number(config.duration_s)) s measured.",
            "",
            "| mode | requests/s | p50 | p90 | p99 | p99.9 | max | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for run in file.runs {
            let errors = run.errors == 0 ? "0" : "\(run.errors): " + run.errors_by_cause.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append("| \(run.label) | \(Int(run.throughput_rps)) | \(ConsoleTable.micros(run.latency_us.p50)) | \(ConsoleTable.micros(run.latency_us.p90)) | \(ConsoleTable.micros(run.latency_us.p99)) | \(ConsoleTable.micros(run.latency_us.p999)) | \(ConsoleTable.micros(run.latency_us.max)) | \(errors) |")
        }
        if config.rate != nil {
            lines += ["", "Latency counts from each request's intended start (coordinated omission corrected). From the actual send:", ""]
            for run in file.runs {
                lines.append("- \(run.label): p50 \(ConsoleTable.micros(run.latency_uncorrected_us.p50)), p99 \(ConsoleTable.micros(run.latency_uncorrected_us.p99)); \(run.late_sends) requests sent more than 1 ms late")
            }
        }
        let logins = file.runs.compactMap { run in run.login_latency_us.map { "- \(run.mode.rawValue) logins: p50 \(ConsoleTable.micros($0.p50)), p99 \(ConsoleTable.micros($0.p99))" } }
        if !logins.isEmpty { lines += ["", "Logins, before the measured phase:", ""] + logins }
        lines.append("")
        for chart in charts { lines += ["![\(chart)](\(chart))", ""] }
        return lines.joined(separator: "\n")
    }

    /// (log10(1 / (1 - percentile)), value in ms) from an .hgrm file, up to 99.999%.
    static func percentilePoints(hgrm: String) -> [(x: Double, y: Double)] {
        hgrm.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let value = Double(fields[0]), let percentile = Double(fields[1]), percentile < 0.999_99 else { return nil }
            return (log10(1 / (1 - percentile)), value)
        }
    }

    /// The mode's colour; later stages of a mode in lighter shades of it.
    static func color(_ run: ResultFile.Run) -> String {
        let base = SVGChart.palette[run.mode] ?? "#2ca02c"
        guard let stage = run.stage, stage > 1 else { return base }
        let shades: [AuthMode: [String]] = [
            .session: ["#1f77b4", "#4e9bd1", "#7fb8e0", "#aed2ec"], .cachedSession: ["#2ca02c", "#5cbd5c", "#8fd48f", "#c0e8c0"],
            .jwt: ["#d62728", "#e35b5c", "#ec8c8c", "#f4b9b9"],
        ]
        let list = shades[run.mode] ?? [base]
        return list[min(stage - 1, list.count - 1)]
    }
}
