import ArgumentParser
import Foundation
import LoadEngine
import LoadReports

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Drive the targets and measure latency and throughput.")

    @OptionGroup var options: LoadOptions
    @Option(help: "none, session, jwt or both (measured side by side).") var mode: ModeSelection = .both
    @Option(help: "Requests/s in total (open loop, latency from each request's intended start); absent = closed loop.")
    var rate: Double?
    @Option(help: "Open-loop steps run back to back, each measured on its own, e.g. 1000:10s,2000:10s,4000:10s (replaces --rate and --duration).")
    var stages: String?
    @Option(help: "Write the result file (JSON) here.") var json: String?
    @Option(help: "Write result.json and one .hgrm per mode into this folder.") var out: String?

    /// `1000:10s,2000:10s`.
    static func parseStages(_ text: String) throws -> [LoadPlan.Stage] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: ":")
            guard parts.count == 2, let rate = Double(parts[0]), let duration = DurationArgument(argument: String(parts[1])) else {
                throw ValidationError("--stages: '\(item)' is not RATE:DURATION, e.g. 1000:10s")
            }
            return LoadPlan.Stage(rate: rate, duration: duration.amount)
        }
    }

    func run() async throws {
        let plan = try options.plan(modes: mode.modes, rate: rate, stages: try stages.map(Self.parseStages))
        let shape = stages.map { "stages \($0)" } ?? rate.map { "open loop at \(Int($0)) requests/s" } ?? "closed loop"
        FileHandle.standardError.write(Data("authbench-load: \(mode.rawValue), \(shape), \(plan.connections) connections, \(plan.targets.count) target(s), warm-up then measuring...\n".utf8))
        let result = try await options.measure(plan)
        let file = ResultFile(result)
        print(ConsoleTable.render(file))
        if let out {
            try ResultDirectory.write(result, to: URL(fileURLWithPath: out))
            FileHandle.standardError.write(Data("authbench-load: results written to \(out)/\n".utf8))
        }
        if let json {
            try file.encoded().write(to: URL(fileURLWithPath: json))
            FileHandle.standardError.write(Data("authbench-load: results written to \(json)\n".utf8))
        }
    }
}
