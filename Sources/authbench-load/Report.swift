import ArgumentParser
import Foundation
import LoadEngine
import LoadReports

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
