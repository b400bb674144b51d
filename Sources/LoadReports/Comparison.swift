import Foundation
import LoadEngine

/// Two result files side by side: every metric of every mode they share, with the ratio B / A.
public struct Comparison: Sendable {
    public struct Row: Sendable, Equatable {
        public var mode: String
        public var metric: String
        public var baseline: Double
        public var candidate: Double
        public var ratio: Double? { baseline == 0 ? nil : candidate / baseline }
    }

    public var rows: [Row]

    public init(baseline: ResultFile, candidate: ResultFile) {
        var rows: [Row] = []
        for run in baseline.runs {
            guard let other = candidate.runs.first(where: { $0.mode == run.mode && $0.stage == run.stage }) else { continue }
            for (metric, value) in Self.metrics(of: run) {
                rows.append(Row(mode: run.label, metric: metric, baseline: value, candidate: Self.metrics(of: other).first { $0.0 == metric }!.1))
            }
        }
        self.rows = rows
    }

    static func metrics(of run: ResultFile.Run) -> [(String, Double)] {
        [
            ("requests/s", run.throughput_rps),
            ("p50 us", Double(run.latency_us.p50)), ("p90 us", Double(run.latency_us.p90)),
            ("p99 us", Double(run.latency_us.p99)), ("p99.9 us", Double(run.latency_us.p999)),
            ("max us", Double(run.latency_us.max)), ("mean us", run.latency_us.mean),
            ("errors %", run.requests + run.errors == 0 ? 0 : 100 * Double(run.errors) / Double(max(run.requests, 1))),
        ]
    }

    public func render() -> String {
        var lines = [pad("mode", 9) + pad("metric", 12) + pad("A", 14, right: true) + pad("B", 14, right: true) + pad("B / A", 10, right: true)]
        for row in rows {
            lines.append(
                pad(row.mode, 9) + pad(row.metric, 12) + pad(Self.format(row.baseline), 14, right: true)
                    + pad(Self.format(row.candidate), 14, right: true)
                    + pad(row.ratio.map { String(format: "%.2f x", $0) } ?? "-", 10, right: true))
        }
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(format: "%.0f", value) : String(format: "%.2f", value)
    }

    private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }
}

/// A `--fail-if` condition, e.g. `p99<5ms`, `errors<0.1%`, `rps>=1000`: it must hold for every
/// run of a result, or the command exits non-zero.
public struct Threshold: Sendable, Equatable, CustomStringConvertible {
    /// Latencies count from each request's intended start (open loop: the wait for a late
    /// send included); the `uncorrected_` ones from its actual send, the server's answer time.
    public enum Metric: String, Sendable, CaseIterable {
        case p50, p90, p99, p999, max, mean, errors, rps
        case uncorrectedP50 = "uncorrected_p50", uncorrectedP90 = "uncorrected_p90", uncorrectedP99 = "uncorrected_p99"
        case uncorrectedP999 = "uncorrected_p999", uncorrectedMax = "uncorrected_max", uncorrectedMean = "uncorrected_mean"
    }

    public enum Comparator: String, Sendable {
        case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    }

    public var metric: Metric
    public var comparator: Comparator
    /// Microseconds for latencies, a percentage for errors, requests/s for rps.
    public var limit: Double
    public let description: String

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(ParseError) {
        description = text
        let compact = text.replacingOccurrences(of: " ", with: "")
        guard let operatorRange = compact.range(of: "<=") ?? compact.range(of: ">=") ?? compact.range(of: "<") ?? compact.range(of: ">") else {
            throw ParseError(description: "--fail-if '\(text)': expected METRIC<VALUE, METRIC<=VALUE, METRIC>VALUE or METRIC>=VALUE")
        }
        guard let metric = Metric(rawValue: String(compact[..<operatorRange.lowerBound]).lowercased()) else {
            throw ParseError(description: "--fail-if '\(text)': the metric must be one of \(Metric.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.metric = metric
        comparator = Comparator(rawValue: String(compact[operatorRange]))!
        let valueText = compact[operatorRange.upperBound...]
        let units: [(String, Double)]
        switch metric {
        case .errors: units = [("%", 1)]
        case .rps: units = [("", 1)]
        default: units = [("us", 1), ("ms", 1_000), ("s", 1_000_000)]
        }
        for (suffix, scale) in units where valueText.hasSuffix(suffix) {
            if let number = Double(valueText.dropLast(suffix.count)) {
                limit = number * scale
                return
            }
        }
        throw ParseError(description: "--fail-if '\(text)': the value needs \(metric == .errors ? "a % sign" : metric == .rps ? "to be a number" : "a unit: us, ms or s")")
    }

    /// The run's value of this metric: microseconds, a percentage of errors, or requests/s.
    public func value(of run: ResultFile.Run) -> Double {
        let latency = metric.rawValue.hasPrefix("uncorrected_") ? run.latency_uncorrected_us : run.latency_us
        return switch metric {
        case .p50, .uncorrectedP50: Double(latency.p50)
        case .p90, .uncorrectedP90: Double(latency.p90)
        case .p99, .uncorrectedP99: Double(latency.p99)
        case .p999, .uncorrectedP999: Double(latency.p999)
        case .max, .uncorrectedMax: Double(latency.max)
        case .mean, .uncorrectedMean: latency.mean
        case .errors: 100 * Double(run.errors) / Double(max(run.requests, 1))
        case .rps: run.throughput_rps
        }
    }

    /// The runs that break this threshold, as one line each.
    public func violations(in file: ResultFile) -> [String] {
        file.runs.compactMap { run in
            let value = value(of: run)
            let holds: Bool
            switch comparator {
            case .less: holds = value < limit
            case .lessOrEqual: holds = value <= limit
            case .greater: holds = value > limit
            case .greaterOrEqual: holds = value >= limit
            }
            return holds ? nil : "\(run.label): \(description) does not hold (\(metric.rawValue) is \(Comparison.format(value))\(metric == .errors ? "%" : metric == .rps ? "" : " us"))"
        }
    }
}
