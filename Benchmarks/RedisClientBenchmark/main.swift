import ArgumentParser
import Foundation
import Histogram
import NIOCore
import NIOPosix
import RedisClient

/// Runs tasks on a NIO event loop, so a caller there reaches the Redis connection of that
/// loop without a thread hop either way.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}

/// GET throughput and latency of RedisClient next to redis-benchmark's, same server,
/// same key, same value size, same concurrency, same run.
@main
struct RedisClientBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis-client-benchmark",
        abstract: "Measures RedisClient GET throughput and latency next to redis-benchmark."
    )

    @Option(name: .customLong("redis-url"), help: "The Redis to measure against (loopback).")
    var redisURL: String

    @Option(help: "Comma-separated concurrency levels.")
    var concurrency: String = "1,50"

    @Option(help: "GETs measured per concurrency level and client.")
    var requests: Int = 200_000

    @Option(help: "Size of the value read, in bytes (redis-benchmark -d).")
    var valueSize: Int = 3

    @Option(help: "Rounds per level; each round runs both clients, alternating which goes first.")
    var rounds: Int = 3

    @Option(help: "Where the calling tasks run: 'cooperative' (Swift's global pool, like most callers) or 'event-loop' (the client's own NIO event loops, no thread hop).")
    var callers: CallerExecutor = .cooperative

    enum CallerExecutor: String, ExpressibleByArgument {
        case cooperative
        case eventLoop = "event-loop"
    }

    @Option(help: "The redis-benchmark executable; 'none' to skip the comparison.")
    var redisBenchmark: String = "redis-benchmark"

    mutating func validate() throws {
        guard requests >= 1_000 else { throw ValidationError("--requests must be at least 1000") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard !levels.isEmpty, levels.allSatisfy({ $0 >= 1 && $0 <= 10_000 }) else {
            throw ValidationError("--concurrency takes numbers from 1 to 10000, e.g. 1,50")
        }
    }

    var levels: [Int] { concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() async throws {
        let configuration: RedisConfiguration
        do {
            configuration = try RedisConfiguration(url: redisURL)
        } catch {
            throw ValidationError("\(error)")
        }
        let redis = RedisClient(configuration: configuration)
        do {
            try await compare(redis, configuration)
            await redis.shutdown()
        } catch {
            await redis.shutdown()
            throw error
        }
    }

    func compare(_ redis: RedisClient, _ configuration: RedisConfiguration) async throws {
        // redis-benchmark's GET reads this literal key when no -r is given.
        let key = "key:__rand_int__"
        try await redis.set(key, to: [UInt8](repeating: UInt8(ascii: "x"), count: valueSize))
        try await redis.connect()

        print("RedisClient vs redis-benchmark: GET of a \(valueSize)-byte value, \(requests) requests a run, best of \(rounds) rounds")
        print("server: \(configuration)  cores: \(ProcessInfo.processInfo.activeProcessorCount)  callers: \(callers.rawValue)")
        print("")
        print(pad("concurrency", 12) + pad("client", 18) + pad("requests/s", 12, right: true) + pad("p50 us", 10, right: true)
            + pad("p99 us", 10, right: true) + pad("max us", 10, right: true))

        var verdicts: [String] = []
        for level in levels {
            _ = try await measureClient(redis, key: key, concurrency: level, requests: min(requests, 20_000))
            var ours: [Measurement] = []
            var theirs: [Measurement] = []
            for round in 0..<rounds {
                if round % 2 == 0 {
                    ours.append(try await measureClient(redis, key: key, concurrency: level, requests: requests))
                    if let reference = try runRedisBenchmark(configuration, concurrency: level) { theirs.append(reference) }
                } else {
                    if let reference = try runRedisBenchmark(configuration, concurrency: level) { theirs.append(reference) }
                    ours.append(try await measureClient(redis, key: key, concurrency: level, requests: requests))
                }
            }
            let best = ours.max { $0.requestsPerSecond < $1.requestsPerSecond }!
            print(row(level, "RedisClient", best))
            guard let reference = theirs.max(by: { $0.requestsPerSecond < $1.requestsPerSecond }) else { continue }
            print(row(level, "redis-benchmark", reference))
            let throughputRatio = best.requestsPerSecond / reference.requestsPerSecond
            let p50Ratio = Double(best.p50Microseconds) / Double(max(reference.p50Microseconds, 1))
            print(pad("", 12) + pad("ratio", 18) + pad(String(format: "%.2f x", throughputRatio), 12, right: true)
                + pad(String(format: "%.2f x", p50Ratio), 10, right: true))
            if level == 1 {
                verdicts.append(String(format: "c=1: p50 %.2f x redis-benchmark's (goal: at most 1.5 x): %@", p50Ratio, p50Ratio <= 1.5 ? "met" : "NOT met"))
            }
            if level == 50 {
                verdicts.append(String(format: "c=50: %.2f x redis-benchmark's requests/s (goal: at least 0.8 x): %@", throughputRatio, throughputRatio >= 0.8 ? "met" : "NOT met"))
            }
        }
        if !verdicts.isEmpty {
            print("")
            verdicts.forEach { print($0) }
        }
    }

    struct Measurement {
        var requestsPerSecond: Double
        var p50Microseconds: UInt64
        var p99Microseconds: UInt64
        var maxMicroseconds: UInt64
    }

    /// `concurrency` tasks, each sending its next GET when the last one answered.
    func measureClient(_ redis: RedisClient, key: String, concurrency: Int, requests: Int) async throws -> Measurement {
        let clock = ContinuousClock()
        let start = clock.now
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator()).map(EventLoopTaskExecutor.init)
        let histogram = try await withThrowingTaskGroup(of: Histogram<UInt64>.self) { group in
            for worker in 0..<concurrency {
                let share = requests / concurrency + (worker < requests % concurrency ? 1 : 0)
                let executor: (any TaskExecutor)? = callers == .eventLoop ? loops[worker % loops.count] : nil
                group.addTask(executorPreference: executor) {
                    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                    for _ in 0..<share {
                        let sent = clock.now
                        guard try await redis.get(key) != nil else { throw ValidationError("GET \(key) returned nothing") }
                        let elapsed = clock.now - sent
                        _ = histogram.record(UInt64(max(1, elapsed.components.attoseconds / 1_000_000_000_000 + elapsed.components.seconds * 1_000_000)))
                    }
                    return histogram
                }
            }
            var merged = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            for try await histogram in group { merged.add(histogram) }
            return merged
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Measurement(
            requestsPerSecond: Double(requests) / seconds,
            p50Microseconds: histogram.valueAtPercentile(50),
            p99Microseconds: histogram.valueAtPercentile(99),
            maxMicroseconds: histogram.max
        )
    }

    /// redis-benchmark with the same shape; its CSV gives requests/s and latency percentiles in ms.
    func runRedisBenchmark(_ configuration: RedisConfiguration, concurrency: Int) throws -> Measurement? {
        guard redisBenchmark != "none" else { return nil }
        var arguments = [
            "-h", configuration.host, "-p", "\(configuration.port)", "-c", "\(concurrency)", "-n", "\(requests)",
            "-d", "\(valueSize)", "-t", "get", "--dbnum", "\(configuration.database)", "--csv",
        ]
        if let password = configuration.password { arguments += ["-a", password] }
        if let username = configuration.username { arguments += ["--user", username] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [redisBenchmark] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("\(redisBenchmark) exited with status \(process.terminationStatus); is it installed (scripts/bootstrap)?")
        }
        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        guard let header = lines.first, let values = lines.dropFirst().first(where: { $0.hasPrefix("\"GET\"") }) else {
            throw ValidationError("cannot read redis-benchmark's CSV output")
        }
        let names = header.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        let numbers = values.split(separator: ",").map { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))) }
        func field(_ name: String) throws -> Double {
            guard let index = names.firstIndex(of: name), index < numbers.count, let value = numbers[index] else {
                throw ValidationError("redis-benchmark's CSV has no \(name)")
            }
            return value
        }
        return Measurement(
            requestsPerSecond: try field("rps"),
            p50Microseconds: UInt64(try field("p50_latency_ms") * 1000),
            p99Microseconds: UInt64(try field("p99_latency_ms") * 1000),
            maxMicroseconds: UInt64(try field("max_latency_ms") * 1000)
        )
    }

    func row(_ level: Int, _ client: String, _ measurement: Measurement) -> String {
        pad("\(level)", 12) + pad(client, 18) + pad(String(format: "%.0f", measurement.requestsPerSecond), 12, right: true)
            + pad("\(measurement.p50Microseconds)", 10, right: true) + pad("\(measurement.p99Microseconds)", 10, right: true)
            + pad("\(measurement.maxMicroseconds)", 10, right: true)
    }

    func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }
}
