import ArgumentParser
import Foundation
import LoadEngine
import LoadReports

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write report.md and SVG charts from a result folder (authbench-load run --out DIR), or an overview of a folder of them.")

    @Argument(help: "A result folder, or a folder of them (scripts/bench's results/<timestamp>).") var directory: String
    @Option(help: "Requests per second to project the measured costs to, e.g. 10000,100000,1000000 (a folder of bench steps measured with --cluster).")
    var project = "10000,100000,1000000"
    @Option(help: "Logins per request in the projection.") var loginShare = 0.001
    @Option(help: "Access-token refreshes per request (JWT) in the projection.") var refreshShare = 0.001
    @Option(help: "How long a credential lives on average, in seconds: live sessions and refresh families = login rate x this.")
    var credentialLifetime = 3600.0

    func validate() throws {
        guard projection != nil else { throw ValidationError("--project: give requests per second above 0, comma-separated, e.g. 10000,100000") }
        guard (0...1).contains(loginShare), (0...1).contains(refreshShare) else {
            throw ValidationError("--login-share and --refresh-share are shares of the requests, from 0 to 1")
        }
        guard credentialLifetime > 0, credentialLifetime.isFinite else { throw ValidationError("--credential-lifetime must be above 0 seconds") }
    }

    private var projection: CostReport.Projection? {
        let rates = project.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !rates.isEmpty, rates.allSatisfy({ ($0 ?? 0) > 0 && $0!.isFinite }) else { return nil }
        return CostReport.Projection(
            rates: rates.map { $0! }, loginShare: loginShare, refreshShare: refreshShare, credentialLifetime: credentialLifetime)
    }

    func run() async throws {
        let url = URL(fileURLWithPath: directory)
        do {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent(ResultDirectory.resultFileName).path) {
                print(try ReportWriter.write(directory: url).path)
            } else {
                let projection = projection ?? .standard
                let overview = try BenchReport.write(directory: url, projection: projection)
                print(overview.summary)
                let steps = try BenchReport.steps(in: url)
                let table = CostReport.projectionMarkdown(
                    CostReport.perRequest(steps), operations: CostReport.operations(in: url, steps: steps), projection)
                if !table.isEmpty { print(table.joined(separator: "\n")) }
                print(overview.report.path)
            }
        } catch let error as ReportWriter.ReportError {
            throw ValidationError(error.description)
        }
    }
}
