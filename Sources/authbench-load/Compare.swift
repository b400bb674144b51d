import ArgumentParser
import Foundation
import LoadEngine
import LoadReports

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
