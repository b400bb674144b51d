import Foundation
import Histogram

/// A run's files in one folder: `result.json` and `<mode>.hgrm` for each mode (`<mode>-stage<N>.hgrm`
/// in a staged run), the latter in
/// HdrHistogram's percentile-distribution text (milliseconds), which its plotter reads.
public enum ResultDirectory {
    public static let resultFileName = "result.json"

    public static func write(_ result: LoadResult, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = ResultFile(result)
        try file.encoded().write(to: directory.appendingPathComponent(resultFileName))
        for (run, written) in zip(result.runs, file.runs) {
            try hgrm(run.recorder.latency).write(
                to: directory.appendingPathComponent(written.hgrmFileName), atomically: true, encoding: .utf8)
        }
    }

    /// The distribution of `histogram` (recorded in microseconds) with values in milliseconds.
    public static func hgrm(_ histogram: Histogram<UInt64>) -> String {
        var text = ""
        histogram.outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1000)
        return text
    }
}
