import ArgumentParser
import Foundation
import LoadEngine
import LoadReports

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The standard comparison: capacity of none, session and jwt, then both modes in open loop at shares of the lower capacity; results and report in --out.")

    @OptionGroup var options: LoadOptions
    @Option(help: "The results folder; every step writes a sub-folder, the overview report.md goes here.") var out: String
    @Option(help: "Open-loop rates as fractions of the lower capacity, e.g. 0.5,0.8.") var loadLevels = "0.5,0.8"

    func run() async throws {
        let levels = loadLevels.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !levels.isEmpty, levels.count == loadLevels.split(separator: ",").count, levels.allSatisfy({ $0 > 0 && $0 <= 2 }) else {
            throw ValidationError("--load-levels: give fractions between 0 and 2, e.g. 0.5,0.8")
        }
        let comparison = StandardComparison(base: try options.plan(modes: [.session, .jwt]), loadLevels: levels)
        let directory = URL(fileURLWithPath: out)
        let name = options.label.map { "\($0): " } ?? ""
        var capacity: [AuthMode: Double] = [:]
        let total = comparison.capacitySteps.count + 1
        for (index, step) in comparison.capacitySteps.enumerated() {
            let mode = step.plan.modes[0]
            note("\(name)[\(index + 1)/\(total)] capacity of \(mode.rawValue) (closed loop, \(options.duration.text))")
            let result = try await options.measure(step.plan)
            try ResultDirectory.write(result, to: directory.appendingPathComponent(step.folder))
            let run = ResultFile(result).runs[0]
            capacity[mode] = run.throughput_rps
            note("\(name)\(mode.rawValue): \(Int(run.throughput_rps)) requests/s, p99 \(ConsoleTable.micros(run.latency_us.p99)), \(run.errors) errors")
        }
        let step: StandardComparison.Step
        do {
            step = try comparison.openLoopStep(sessionCapacity: capacity[.session] ?? 0, jwtCapacity: capacity[.jwt] ?? 0)
        } catch {
            throw ValidationError(error.description)
        }
        let rates = step.plan.schedule.compactMap(\.rate).map { String(Int($0)) }.joined(separator: " and ")
        note("\(name)[\(total)/\(total)] session and jwt interleaved, open loop at \(rates) requests/s (\(options.duration.text) each)")
        let result = try await options.measure(step.plan)
        try ResultDirectory.write(result, to: directory.appendingPathComponent(step.folder))
        let overview = try BenchReport.write(directory: directory)
        print(overview.summary)
        print(overview.report.path)
    }

    private func note(_ line: String) {
        FileHandle.standardError.write(Data("authbench-load: \(line)\n".utf8))
    }
}
