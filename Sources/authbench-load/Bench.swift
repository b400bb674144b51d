import ArgumentParser
import Foundation
import LoadCosts
import LoadEngine
import LoadReports
import NIOPosix
import RedisClient

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The standard comparison: capacity of none, session and jwt (and cached sessions), then the contenders in open loop at shares of the lowest capacity; results and report in --out.")

    @OptionGroup var options: LoadOptions
    @Option(help: "The results folder; every step writes a sub-folder, the overview report.md goes here.") var out: String
    @Option(help: "Open-loop rates as fractions of the lower capacity, e.g. 0.5,0.8.") var loadLevels = "0.5,0.8"
    @Option(help: "A scripts/cluster run directory: the CPU of its processes and its Redis's own counts are measured in every step, and what each contender costs per request goes into the report.")
    var cluster: String?
    @Option(help: "With --cluster: logins, refreshes and logouts measured one kind at a time after the load steps (0: none).")
    var operations = 1000
    @Option(help: "The nodes' --key-prefix, for the revocation list's size.") var keyPrefix = "ab:"
    @Flag(help: "Also measure sessions on caching nodes (session-cached): its requests carry X-AuthBench-Contender: cached, which a scripts/cluster --cached-nodes load balancer routes to them.")
    var cachedSessions = false

    func run() async throws {
        let levels = loadLevels.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !levels.isEmpty, levels.count == loadLevels.split(separator: ",").count, levels.allSatisfy({ $0 > 0 && $0 <= 2 }) else {
            throw ValidationError("--load-levels: give fractions between 0 and 2, e.g. 0.5,0.8")
        }
        guard (0...100_000).contains(operations) else { throw ValidationError("--operations must be from 0 to 100000") }
        let contenders: [AuthMode] = cachedSessions ? [.session, .cachedSession, .jwt] : [.session, .jwt]
        let comparison = StandardComparison(base: try options.plan(modes: contenders), contenders: contenders, loadLevels: levels)
        var meter: ClusterResourceMeter?
        var redis: RedisClient?
        if let cluster {
            do {
                (meter, redis) = try ClusterResourceMeter.runDirectory(cluster, eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            } catch {
                throw ValidationError("--cluster: \(error)")
            }
        }
        do {
            if let meter {
                do {
                    _ = try await meter.sample()
                } catch {
                    throw ValidationError("--cluster: its Redis does not answer: \(error)")
                }
            }
            try await runSteps(comparison, meter: meter, redis: redis)
        } catch {
            await redis?.shutdown()
            throw error
        }
        await redis?.shutdown()
    }

    private func runSteps(_ comparison: StandardComparison, meter: ClusterResourceMeter?, redis: RedisClient?) async throws {
        let directory = URL(fileURLWithPath: out)
        let name = options.label.map { "\($0): " } ?? ""
        var capacity: [AuthMode: Double] = [:]
        let total = comparison.capacitySteps.count + 1 + (meter != nil && operations > 0 ? 1 : 0)
        for (index, step) in comparison.capacitySteps.enumerated() {
            let mode = step.plan.modes[0]
            note("\(name)[\(index + 1)/\(total)] capacity of \(mode.rawValue) (closed loop, \(options.duration.text))")
            let result = try await options.measure(step.plan, meter: meter)
            try ResultDirectory.write(result, to: directory.appendingPathComponent(step.folder))
            let run = ResultFile(result).runs[0]
            capacity[mode] = run.throughput_rps
            note("\(name)\(mode.rawValue): \(Int(run.throughput_rps)) requests/s, p99 \(ConsoleTable.micros(run.latency_us.p99)), \(run.errors) errors")
        }
        let step: StandardComparison.Step
        do {
            step = try comparison.openLoopStep(capacities: capacity)
        } catch {
            throw ValidationError(error.description)
        }
        let rates = step.plan.schedule.compactMap(\.rate).map { String(Int($0)) }.joined(separator: " and ")
        let modes = comparison.contenders.map(\.rawValue).joined(separator: ", ")
        note("\(name)[\(comparison.capacitySteps.count + 1)/\(total)] \(modes) interleaved, open loop at \(rates) requests/s (\(options.duration.text) each)")
        let result = try await options.measure(step.plan, meter: meter)
        try ResultDirectory.write(result, to: directory.appendingPathComponent(step.folder))
        if let meter, operations > 0 {
            note("\(name)[\(total)/\(total)] logins, refreshes and logouts, one kind at a time (\(operations) each)")
            let plan = step.plan
            let costs = try await OperationCosts(
                target: plan.targets[0], userPrefix: plan.userPrefix, users: plan.users, password: plan.password, count: operations,
                meter: meter, redis: redis, revocationListKey: keyPrefix + "revoked", group: MultiThreadedEventLoopGroup.singleton
            ).measure { self.note("\(name)\($0)") }
            let folder = directory.appendingPathComponent(comparison.operationsFolder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let bcryptCost = cluster.flatMap(ClusterResourceMeter.bcryptCost(inRunDirectory:))
            try encoder.encode(OperationCostFile(label: plan.label, target: plan.targets[0].description, bcrypt_cost: bcryptCost, operations: costs))
                .write(to: folder.appendingPathComponent(OperationCostFile.fileName))
        }
        let overview = try BenchReport.write(directory: directory)
        print(overview.summary)
        print(overview.report.path)
    }

    private func note(_ line: String) {
        FileHandle.standardError.write(Data("authbench-load: \(line)\n".utf8))
    }
}
