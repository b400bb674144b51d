import Foundation
import LoadEngine

/// The summary printed at the end of a run: one row per mode.
public enum ConsoleTable {
    public static func render(_ file: ResultFile) -> String {
        let header = ["mode", "requests/s", "p50", "p90", "p99", "p99.9", "max", "errors"]
        var lines = [aligned(header: header, rows: file.runs.map { [$0.label] + cells($0) })]
        for run in file.runs {
            if let rate = run.requested_rate_rps, run.throughput_rps < rate * 0.98 {
                lines.append("\(run.label): achieved \(String(format: "%.0f", run.throughput_rps)) of the \(String(format: "%.0f", rate)) requests/s asked; the generator or the targets fell behind (\(run.late_sends) requests sent late)")
            }
            if let login = run.login_latency_us {
                lines.append("\(run.label) logins: p50 \(micros(login.p50)), p99 \(micros(login.p99))" + (run.login_failures.isEmpty ? "" : ", failures: \(run.login_failures.values.reduce(0, +))"))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// requests/s, p50, p90, p99, p99.9, max and errors by cause.
    public static func cells(_ run: ResultFile.Run) -> [String] {
        [
            String(format: "%.0f", run.throughput_rps), micros(run.latency_us.p50), micros(run.latency_us.p90),
            micros(run.latency_us.p99), micros(run.latency_us.p999), micros(run.latency_us.max),
            run.errors == 0 ? "0" : "\(run.errors) (" + run.errors_by_cause.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")",
        ]
    }

    /// Columns padded to their widest cell: the first `textColumns` and the last left-aligned, numbers right-aligned.
    static func aligned(header: [String], rows: [[String]], textColumns leading: Int = 1) -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        let textColumns = Set(0..<leading).union([header.count - 1])
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                textColumns.contains(column)
                    ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    public static func micros(_ value: UInt64) -> String {
        switch value {
        case ..<1_000: "\(value)us"
        case ..<1_000_000: String(format: "%.2fms", Double(value) / 1_000)
        default: String(format: "%.2fs", Double(value) / 1_000_000)
        }
    }
}
