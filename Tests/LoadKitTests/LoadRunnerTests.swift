import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Hummingbird
import HummingbirdTesting
@testable import LoadEngine
@testable import LoadReports
@testable import LoadScenarios
@testable import TCPDelayProxy
import NIOCore
import Synchronization
import TestSupport
import Testing

/// A server with known behaviour: `/fixed` answers after 2 ms, `/fast` at once, and
/// `/stall` holds every request that arrives between `stallFrom` and `stallUntil` until
/// `stallUntil`.
final class DelayServer: Sendable {
    let stall = Mutex<(from: ContinuousClock.Instant, until: ContinuousClock.Instant)?>(nil)

    func application() -> some ApplicationProtocol {
        let router = Router()
        router.get("fast") { _, _ in "ok" }
        router.get("fixed") { _, _ in
            try await Task.sleep(for: .milliseconds(2))
            return "ok"
        }
        router.get("stall") { _, _ in
            if let window = self.stall.withLock({ $0 }), window.from <= .now, .now < window.until {
                try await Task.sleep(until: window.until)
            }
            return "ok"
        }
        router.get("teapot") { _, _ -> Response in Response(status: .init(code: 418)) }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }
}

@Suite struct LoadRunnerTests {
    func target(_ client: some TestClientProtocol) throws -> Target {
        Target(host: "127.0.0.1", port: try #require(client.port))
    }

    @Test func closedLoopLatencyMatchesAKnownDelay() async throws {
        try await DelayServer().application().test(.live) { client in
            // The 2 ms path and the immediate one at the same time, so both see the same machine.
            func plan(_ path: String) throws -> LoadPlan {
                LoadPlan(
                    targets: [try target(client)], modes: [.none], path: path, connections: 4, users: 0,
                    duration: .seconds(2), warmup: .milliseconds(300))
            }
            async let delayedResult = LoadRunner(plan: try plan("/fixed")).run()
            async let immediateResult = LoadRunner(plan: try plan("/fast")).run()
            let (delayedLoad, immediateLoad) = try await (delayedResult, immediateResult)
            let delayedRecorder = try #require(delayedLoad.runs.first).recorder
            let immediateRecorder = try #require(immediateLoad.runs.first).recorder
            let delayed = try #require(ResultFile(delayedLoad).runs.first)
            let immediate = try #require(ResultFile(immediateLoad).runs.first)
            for run in [delayed, immediate] {
                #expect(run.errors == 0)
                #expect(run.requests > 0)
                #expect(run.latency_us == run.latency_uncorrected_us, "in a closed loop both clocks start at the send")
                #expect(abs(run.throughput_rps - Double(run.requests) / 2) < 1)
            }
            // A closed loop keeps each connection busy: requests/s times the mean latency is the
            // number of requests in flight, at most one per connection, and near it unless the
            // generator itself waited between a response and the next send (the 2 ms delay makes
            // the generator's own turn between two requests small beside it).
            let inFlight = delayed.throughput_rps * delayed.latency_us.mean / 1e6
            #expect(inFlight > 4 * 0.5 && inFlight < 4 * 1.1, "requests in flight: \(inFlight) of 4 connections")
            // Every delayed response took at least the server's 2 ms; the same requests without the
            // delay, at the same time, answered faster at their fastest (their medians can swap on
            // a machine whose scheduling noise is larger than 2 ms).
            #expect(delayedRecorder.latency.min >= 2_000, "fastest delayed response: \(delayedRecorder.latency.min) us")
            #expect(delayed.latency_us.p50 >= 2_000, "\(delayed.latency_us)")
            #expect(immediateRecorder.latency.min < delayedRecorder.latency.min,
                    "fastest: \(immediateRecorder.latency.min) us without the delay, \(delayedRecorder.latency.min) us with it")
        }
    }

    @Test func openLoopKeepsTheRateWhenTheServerKeepsUp() async throws {
        try await DelayServer().application().test(.live) { client in
            let plan = LoadPlan(
                targets: [try target(client)], modes: [.none], path: "/fast", rate: 400, connections: 4, users: 0,
                duration: .seconds(3), warmup: .milliseconds(300))
            let file = ResultFile(try await LoadRunner(plan: plan).run())
            let run = try #require(file.runs.first)
            // The schedule is 400 intended starts a second; each is sent, late if the machine is busy
            // (the corrected latency counts the wait), and answered.
            #expect(abs(run.requests - 1_200) <= plan.connections, "sent \(run.requests) of 1200 scheduled")
            #expect(run.per_second.map(\.rps).allSatisfy { abs($0 - 400) <= plan.connections }, "\(run.per_second.map(\.rps))")
            #expect(run.errors == 0)
            #expect(run.per_second.count == 3)
        }
    }

    @Test func aStallShowsInTheCorrectedLatencyButNotTheUncorrected() async throws {
        let server = DelayServer()
        try await server.application().test(.live) { client in
            let plan = LoadPlan(
                targets: [try target(client)], modes: [.none], path: "/stall", rate: 200, connections: 2, users: 0,
                duration: .seconds(4), warmup: .milliseconds(500))
            let progress = LiveProgress()
            let runner = LoadRunner(plan: plan, progress: progress)
            async let result = runner.run()
            // 100 measured requests at 200/s: the stall starts 0.5 s to 1 s into the measured phase.
            let deadline = ContinuousClock.now + .seconds(20)
            while progress.snapshot().requests < 100, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            server.stall.withLock { $0 = (.now, .now + .seconds(1)) }
            let run = try #require(ResultFile(try await result).runs.first)
            // A quarter of the schedule falls in the stall: wrk2-style correction charges each
            // request the wait since its intended start; the uncorrected clock sees only the
            // two requests that were in flight.
            #expect(run.latency_us.p99 > 500_000, "corrected \(run.latency_us)")
            #expect(run.latency_uncorrected_us.p99 < run.latency_us.p99 / 4, "uncorrected \(run.latency_uncorrected_us)")
            #expect(run.latency_uncorrected_us.max > 500_000)
            #expect(run.late_sends > 50)
        }
    }

    /// Open loop, so the count is the schedule's, not what a busy machine fits into a closed
    /// loop's half second (a slow first connect once left none).
    @Test func errorsAreCountedByCause() async throws {
        try await DelayServer().application().test(.live) { client in
            let plan = LoadPlan(
                targets: [try target(client)], modes: [.none], path: "/teapot", rate: 100, connections: 2, users: 0,
                duration: .seconds(1), warmup: .zero)
            let run = try #require(ResultFile(try await LoadRunner(plan: plan).run()).runs.first)
            #expect(abs(run.requests - 100) <= plan.connections, "sent \(run.requests) of 100 scheduled")
            #expect(run.errors == run.requests)
            #expect(run.errors_by_cause == ["status 418": run.requests])
            #expect(run.status_counts == ["418": run.requests])
        }
    }

    @Test func anUnreachableTargetFailsBeforeAnyLoad() async throws {
        let port = try LoopbackPort.free()
        let plan = LoadPlan(targets: [Target(host: "127.0.0.1", port: port)], modes: [.none], connections: 1, users: 0)
        await #expect {
            try await LoadRunner(plan: plan).run()
        } throws: { error in
            "\(error)".contains("unreachable") && "\(error)".contains("refused")
        }
    }

    @Test func theResultFileHasTheDesignSchema() async throws {
        try await DelayServer().application().test(.live) { client in
            let plan = LoadPlan(
                targets: [try target(client)], modes: [.none], path: "/fast", rate: 100, connections: 2, users: 0,
                duration: .milliseconds(1_200), warmup: .milliseconds(100))
            let data = try ResultFile(try await LoadRunner(plan: plan).run()).encoded()
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(json["tool"] as? String == "authbench-load")
            #expect(json["version"] is String)
            #expect(json["started_at"] is String)
            #expect(json["config"] is [String: Any])
            let run = try #require((json["runs"] as? [[String: Any]])?.first)
            for key in ["mode", "requests", "errors", "duration_s", "throughput_rps", "latency_us", "latency_uncorrected_us", "status_counts", "per_second"] {
                #expect(run[key] != nil, "missing \(key)")
            }
            let latency = try #require(run["latency_us"] as? [String: Any])
            #expect(Set(latency.keys).isSuperset(of: ["p50", "p90", "p99", "p999", "max", "mean"]))
            let second = try #require((run["per_second"] as? [[String: Any]])?.first)
            #expect(Set(second.keys) == ["t", "rps", "p99_us", "errors"])
            #expect((run["status_counts"] as? [String: Int])?["200"] == run["requests"] as? Int)
        }
    }

    @Test func targetsAreParsedWithClearErrors() throws {
        #expect(try Target(url: "http://127.0.0.1:8081") == Target(host: "127.0.0.1", port: 8081))
        #expect(try Target(url: "http://[::1]:9000/") == Target(host: "::1", port: 9000))
        #expect(try Target(url: "http://lb") == Target(host: "lb", port: 80))
        for bad in ["https://x:1", "x:1", "http://x:0", "http://x:1/api", "http://:80"] {
            #expect(throws: Target.ParseError.self, "\(bad)") { try Target(url: bad) }
        }
    }
}

extension LoadRunnerTests {
    @Test func aResultFolderHasTheJSONAndAnHgrmPerMode() async throws {
        try await DelayServer().application().test(.live) { client in
            let plan = LoadPlan(
                targets: [try target(client)], modes: [.none], path: "/fixed", rate: 100, connections: 2, users: 0,
                duration: .milliseconds(800), warmup: .milliseconds(100))
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("load-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let result = try await LoadRunner(plan: plan).run()
            try ResultDirectory.write(result, to: folder)
            let hgrm = try String(contentsOf: folder.appendingPathComponent("none.hgrm"), encoding: .utf8)
            let lines = hgrm.split(separator: "\n")
            #expect(lines.first?.contains("Percentile") == true)
            #expect(hgrm.contains("#[Mean"))
            // Values are in milliseconds: the fastest response, at least the server's 2 ms, is
            // written as the recorded microseconds over 1000 (about 2, not 2000 or 0.002).
            let firstValue = try #require(lines.dropFirst().compactMap { Double($0.split(separator: " ").first ?? "") }.first)
            let fastestMicros = Double(try #require(result.runs.first).recorder.latency.min)
            #expect(firstValue >= 1.9, "\(lines.prefix(3))")
            #expect(abs(firstValue - fastestMicros / 1000) <= 0.01 * firstValue, "\(firstValue) ms written, \(fastestMicros) us recorded")
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("result.json").path))
        }
    }
}

extension LoadRunnerTests {
    @Test func theReportHasATableAndWellFormedCharts() async throws {
        try await DelayServer().application().test(.live) { client in
            let plan = LoadPlan(
                targets: [try target(client)], modes: [.none], path: "/teapot", rate: 100, connections: 2, users: 0,
                duration: .seconds(2), warmup: .milliseconds(100))
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            try ResultDirectory.write(try await LoadRunner(plan: plan).run(), to: folder)
            let report = try ReportWriter.write(directory: folder)
            let markdown = try String(contentsOf: report, encoding: .utf8)
            #expect(markdown.contains("| mode | requests/s | p50 |"))
            #expect(markdown.contains("| none | "))
            #expect(markdown.contains("status 418"))
            for chart in ["latency-by-percentile.svg", "throughput-over-time.svg", "p99-over-time.svg"] {
                #expect(markdown.contains("![\(chart)](\(chart))"))
                let data = try Data(contentsOf: folder.appendingPathComponent(chart))
                let parser = XMLParser(data: data)
                #expect(parser.parse(), "\(chart) is not well-formed XML: \(String(describing: parser.parserError))")
                #expect(String(decoding: data, as: UTF8.self).contains("<polyline"))
            }
            // Every second had errors (418): the time charts mark them.
            let throughput = try String(contentsOf: folder.appendingPathComponent("throughput-over-time.svg"), encoding: .utf8)
            #expect(throughput.contains("<circle"))
        }
    }

    @Test func aFolderWithoutResultsIsAClearError() {
        #expect {
            try ReportWriter.write(directory: URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)"))
        } throws: { error in
            "\(error)".contains("run authbench-load run --out")
        }
    }
}

extension LoadRunnerTests {
    @Test func connectionsClosedByTheServerAreReopenedAndTheRateHolds() async throws {
        let server = FlakyServer(port: try LoopbackPort.free(), requestsPerConnection: 25)
        try await server.start()
        let plan = LoadPlan(
            targets: [Target(host: "127.0.0.1", port: server.port)], modes: [.none], path: "/", rate: 400, connections: 4,
            users: 0, duration: .seconds(2), warmup: .milliseconds(200))
        let run = try #require(ResultFile(try await LoadRunner(plan: plan).run()).runs.first)
        await server.stop()
        // Every one of the 800 intended starts was sent on a connection of its own turn and
        // answered, however often the server closed them (late, if reconnecting took long).
        #expect(abs(run.requests - 800) <= plan.connections, "sent \(run.requests) of 800 scheduled")
        #expect(run.errors == 0, "\(run.errors_by_cause)")
    }

    @Test func aTargetThatDiesShowsErrorsWhenItHappenedAndTheRunGoesOn() async throws {
        let server = FlakyServer(port: try LoopbackPort.free(), requestsPerConnection: 1_000_000)
        try await server.start()
        let plan = LoadPlan(
            targets: [Target(host: "127.0.0.1", port: server.port)], modes: [.none], path: "/", rate: 200, connections: 2,
            users: 0, duration: .seconds(12), warmup: .milliseconds(300))
        let progress = LiveProgress()
        async let result = LoadRunner(plan: plan, progress: progress).run()
        // Counts reach the progress every half second, and only for the measured phase: at 600
        // answers (3 s of the schedule), neither connection's schedule can still be in its first
        // second unless it lags the other by 4 s, however late its sends on a busy machine.
        // Down for 1.5 s (longer if the machine is slow), then up again: answers resume while
        // the 12 s schedule still runs (reconnecting backs off at most 1 s).
        let measuring = try await eventually { progress.snapshot().requests >= 600 }
        #expect(measuring)
        await server.stop()
        try await Task.sleep(for: .milliseconds(1_500))
        let answeredBeforeRestart = progress.snapshot().requests
        try await server.start()
        let resumed = try await eventually { progress.snapshot().requests > answeredBeforeRestart }
        #expect(resumed, "no answer after the target came back")
        let run = try #require(ResultFile(try await result).runs.first)
        await server.stop()
        let errorsBySecond = run.per_second.map(\.errors)
        #expect(errorsBySecond.first == 0, "\(errorsBySecond)")
        #expect(errorsBySecond.reduce(0, +) > 150, "at least 1.5 s of a 200/s schedule missed: \(errorsBySecond)")
        // The errors are one stretch: every second after the last one with errors is clean and answered.
        let lastWithErrors = try #require(errorsBySecond.lastIndex { $0 > 0 })
        let firstWithErrors = try #require(errorsBySecond.firstIndex { $0 > 0 })
        #expect(run.per_second[(lastWithErrors + 1)...].allSatisfy { $0.errors == 0 && $0.rps > 0 }, "\(errorsBySecond)")
        #expect(run.per_second[..<firstWithErrors].allSatisfy { $0.errors == 0 && $0.rps > 0 }, "\(errorsBySecond)")
        #expect(run.status_counts["200", default: 0] > answeredBeforeRestart, "answers after the restart")
        #expect(run.errors_by_cause.keys.contains { $0.contains("refused") || $0.contains("reset") || $0.contains("closed") }, "\(run.errors_by_cause)")
        #expect(run.per_second.count == 12)
    }
}

extension LoadRunnerTests {
    @Test func stagesRunBackToBackAndAreMeasuredEachOnItsOwn() async throws {
        try await DelayServer().application().test(.live) { client in
            var plan = LoadPlan(
                targets: [try target(client)], modes: [.none], path: "/fast", connections: 4, users: 0,
                warmup: .milliseconds(200))
            plan.stages = [.init(rate: 100, duration: .seconds(1)), .init(rate: 300, duration: .seconds(1))]
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stages-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let result = try await LoadRunner(plan: plan).run()
            try ResultDirectory.write(result, to: folder)
            let file = ResultFile(result)
            #expect(file.runs.map(\.stage) == [1, 2])
            #expect(file.runs.map(\.label) == ["none @ 100/s", "none @ 300/s"])
            #expect(abs(file.runs[0].throughput_rps - 100) <= 3, "\(file.runs[0].throughput_rps)")
            #expect(abs(file.runs[1].throughput_rps - 300) <= 6, "\(file.runs[1].throughput_rps)")
            #expect(file.config.stages == ["100:1.0s", "300:1.0s"])
            for name in ["none-stage1.hgrm", "none-stage2.hgrm"] {
                #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path))
            }
            let markdown = try String(contentsOf: try ReportWriter.write(directory: folder), encoding: .utf8)
            #expect(markdown.contains("| none @ 300/s |"))
        }
    }
}
