import Foundation
import FoundationXML
import NIOCore
import Testing

@testable import LoadEngine
@testable import LoadReports
@testable import LoadScenarios
@testable import TCPDelayProxy

@Suite struct StandardComparisonTests {
    let base = LoadPlan(
        targets: [try! Target(url: "http://127.0.0.1:8080")], modes: [.session, .jwt], path: "/api/me", connections: 8,
        users: 8, password: "pw", duration: .seconds(4), warmup: .seconds(1), label: "ES256")

    @Test func capacityStepsMeasureEachModeAloneWithTheBaselineOnAnOpenRoute() {
        let steps = StandardComparison(base: base).capacitySteps
        #expect(steps.map(\.folder) == ["es256-capacity-none", "es256-capacity-session", "es256-capacity-jwt"])
        #expect(steps.map(\.plan.modes) == [[.none], [.session], [.jwt]])
        #expect(steps.map(\.plan.path) == ["/healthz", "/api/me", "/api/me"])
        #expect(steps.allSatisfy { $0.plan.rate == nil && $0.plan.stages == nil && $0.plan.connections == 8 })
    }

    @Test func openLoopRatesAreSharesOfTheLowerCapacity() throws {
        let step = try StandardComparison(base: base, loadLevels: [0.5, 0.8]).openLoopStep(capacities: [.none: 2000, .session: 6000, .jwt: 9000])
        #expect(step.folder == "es256-open-loop")
        #expect(step.plan.modes == [.session, .jwt])
        #expect(step.plan.schedule.map(\.rate) == [3000, 4800])
        #expect(step.plan.schedule.map(\.duration) == [.seconds(4), .seconds(4)])
        #expect(throws: LoadPlan.Invalid.self) {
            try StandardComparison(base: base).openLoopStep(capacities: [.session: 0, .jwt: 9000])
        }
    }

    @Test func cachedSessionsAreAThirdContender() throws {
        let comparison = StandardComparison(base: base, contenders: [.session, .cachedSession, .jwt], loadLevels: [0.5])
        #expect(comparison.capacitySteps.map(\.plan.modes) == [[.none], [.session], [.cachedSession], [.jwt]])
        #expect(comparison.capacitySteps.map(\.folder)[2] == "es256-capacity-session-cached")
        let step = try comparison.openLoopStep(capacities: [.session: 6000, .cachedSession: 8000, .jwt: 9000])
        #expect(step.plan.modes == [.session, .cachedSession, .jwt])
        #expect(step.plan.schedule.map(\.rate) == [3000])
        #expect(throws: LoadPlan.Invalid.self, "a contender whose capacity is missing served nothing") {
            try comparison.openLoopStep(capacities: [.session: 6000, .jwt: 9000])
        }
    }

    @Test func aCachedSessionLogsInAsASessionAndCarriesItsRoutingHeader() {
        #expect(AuthMode.cachedSession.loginMode == "session")
        #expect(AuthMode.session.loginMode == "session" && AuthMode.session.routingHeaders.isEmpty)
        let user = VirtualUser(username: "u", credential: ("Cookie", "sid=x"), routing: AuthMode.cachedSession.routingHeaders)
        let request = HTTPRequestBytes(path: "/api/me", authority: "lb", headers: user.requestHeaders)
        let text = String(buffer: request.bytes)
        #expect(text.contains("\r\nCookie: sid=x\r\n") && text.contains("\r\nX-AuthBench-Contender: cached\r\n"))
    }
}

@Suite struct BenchReportTests {
    struct RunSpec {
        var mode: String
        var rps: Double
        var p50: UInt64 = 500
        var p99: UInt64 = 2000
        var stage: Int? = nil
        var requestedRate: Double? = nil
        var errors: [String: Int] = [:]
    }

    /// A result file as `authbench-load run --out` writes it, with the given runs.
    static func write(_ folder: URL, startedAt: String, path: String = "/api/me", stages: [String]? = nil, label: String = "HS256", runs: [RunSpec]) throws {
        let runObjects = runs.map { run -> [String: Any] in
            let errors = run.errors.values.reduce(0, +)
            let latency: [String: Any] = ["p50": run.p50, "p90": run.p50 * 2, "p99": run.p99, "p999": run.p99 * 2, "max": run.p99 * 3, "mean": Double(run.p50)]
            var object: [String: Any] = [
                "mode": run.mode, "requests": Int(run.rps * 4), "errors": errors, "duration_s": 4.0, "throughput_rps": run.rps,
                "latency_us": latency, "latency_uncorrected_us": latency, "status_counts": ["200": Int(run.rps * 4)],
                "per_second": [["t": 0, "rps": Int(run.rps), "p99_us": run.p99, "errors": errors]],
                "errors_by_cause": run.errors, "late_sends": 0, "login_failures": [String: Int](),
            ]
            object["stage"] = run.stage
            object["requested_rate_rps"] = run.requestedRate
            return object
        }
        var config: [String: Any] = [
            "targets": ["http://127.0.0.1:8080"], "modes": Array(Set(runs.map(\.mode))), "path": path, "connections": 32,
            "users": 64, "duration_s": 4.0, "warmup_s": 1.0, "label": label,
        ]
        config["stages"] = stages
        let file: [String: Any] = ["tool": "authbench-load", "version": "0.1.0", "started_at": startedAt, "config": config, "runs": runObjects]
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: file).write(to: folder.appendingPathComponent("result.json"))
    }

    static func benchFolder() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bench-report-\(UUID().uuidString)")
        // Folder names sort differently from the run order on purpose.
        try write(root.appendingPathComponent("c-none"), startedAt: "2026-11-30T10:00:00Z", path: "/healthz", runs: [RunSpec(mode: "none", rps: 10_000)])
        try write(root.appendingPathComponent("b-session"), startedAt: "2026-11-30T10:01:00Z", runs: [RunSpec(mode: "session", rps: 6_000)])
        try write(root.appendingPathComponent("a-jwt"), startedAt: "2026-11-30T10:02:00Z", runs: [RunSpec(mode: "jwt", rps: 9_000)])
        try write(
            root.appendingPathComponent("d-open"), startedAt: "2026-11-30T10:03:00Z", stages: ["3000:4s", "4800:4s"],
            runs: [
                RunSpec(mode: "session", rps: 1_500, p50: 700, p99: 3_000, stage: 1, requestedRate: 1_500),
                RunSpec(mode: "jwt", rps: 1_500, p50: 400, p99: 1_500, stage: 1, requestedRate: 1_500),
                RunSpec(mode: "session", rps: 2_000, p50: 900, p99: 9_000, stage: 2, requestedRate: 2_400, errors: ["reset": 5]),
                RunSpec(mode: "jwt", rps: 2_400, p50: 450, p99: 2_500, stage: 2, requestedRate: 2_400),
            ])
        return root
    }

    @Test func theReadingComesFromTheMeasuredNumbers() throws {
        let root = try Self.benchFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let steps = try BenchReport.steps(in: root)
        #expect(steps.map(\.folder) == ["c-none", "b-session", "a-jwt", "d-open"])
        let reading = BenchReport.reading(steps).joined(separator: "\n")
        #expect(reading.contains("jwt HS256 served 9,000 requests/s and sessions 6,000: JWT carried 1.50× what sessions did."))
        #expect(reading.contains("Without authentication (`/healthz`) the same cluster served 10,000; sessions kept 60% of that, JWT 90%."))
        #expect(reading.contains("**Latency at 3,000 requests/s (HS256), 50% of the lower capacity**"))
        #expect(reading.contains("p50 sessions 700us vs jwt HS256 400us; p99 3.00ms vs 1.50ms"))
        #expect(reading.contains("**Latency at 4,800 requests/s (HS256), 80% of the lower capacity**"))
        #expect(reading.contains("**Failures.** d-open session @ 2400/s: 5 (reset 5)."))
        #expect(reading.contains("**Fell behind.** d-open session @ 2400/s reached 2,000 of 2,400 requests/s"))
        #expect(!reading.contains("No request failed"))
        #expect(!reading.contains("**Noise.**"), "one baseline says nothing about noise")
    }

    @Test func aCachedSessionContenderIsReadBesideTheOtherTwo() throws {
        let root = try Self.benchFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.write(root.appendingPathComponent("b2-cached"), startedAt: "2026-11-30T10:01:30Z", runs: [RunSpec(mode: "session-cached", rps: 8_400)])
        try Self.write(
            root.appendingPathComponent("f-open"), startedAt: "2026-11-30T10:04:00Z", stages: ["3000:4s"],
            runs: [
                RunSpec(mode: "session", rps: 1_000, p50: 700, p99: 3_000, stage: 1, requestedRate: 1_000),
                RunSpec(mode: "jwt", rps: 1_000, p50: 400, p99: 1_500, stage: 1, requestedRate: 1_000),
                RunSpec(mode: "session-cached", rps: 1_000, p50: 450, p99: 1_600, stage: 1, requestedRate: 1_000),
            ])
        let reading = BenchReport.reading(try BenchReport.steps(in: root)).joined(separator: "\n")
        #expect(reading.contains(
            "Sessions answered from the nodes' memory (`session-cached`) served 8,400: 1.40× what sessions read from Redis on every request did, "
                + "0.93× jwt HS256, 84% of the unauthenticated route."))
        #expect(reading.contains("**Latency at 3,000 requests/s (HS256), 50% of the lowest capacity**, about a third of it each mode: "
            + "p50 sessions 700us vs session-cached 450us vs jwt HS256 400us; p99 3.00ms vs 1.60ms vs 1.50ms"))
    }

    @Test func twoBaselinesOfIdenticalClustersMeasureTheNoise() throws {
        let root = try Self.benchFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.write(root.appendingPathComponent("e-none"), startedAt: "2026-11-30T10:05:00Z", path: "/healthz", label: "ES256", runs: [RunSpec(mode: "none", rps: 8_000)])
        try Self.write(root.appendingPathComponent("f-jwt"), startedAt: "2026-11-30T10:06:00Z", label: "ES256", runs: [RunSpec(mode: "jwt", rps: 4_500)])
        let reading = BenchReport.reading(try BenchReport.steps(in: root)).joined(separator: "\n")
        #expect(reading.contains("**Noise.** The same baseline measured 10,000 and 8,000 requests/s on identical clusters (25% apart)"))
        #expect(reading.contains("jwt HS256 9,000 requests/s, jwt ES256 4,500 requests/s (0.50× jwt HS256)"))
    }

    @Test func baselinesThatAgreeSayTheRunWasSteady() throws {
        let root = try Self.benchFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.write(root.appendingPathComponent("e-none"), startedAt: "2026-11-30T10:05:00Z", path: "/healthz", label: "ES256", runs: [RunSpec(mode: "none", rps: 10_040)])
        let reading = BenchReport.reading(try BenchReport.steps(in: root)).joined(separator: "\n")
        #expect(reading.contains("**Noise.** The same baseline measured 10,000 and 10,040 requests/s on identical clusters (0.4% apart): the machine was steady"), "\(reading)")
    }

    @Test func theOverviewHasEveryRunAChartAndLinksToEachStep() throws {
        let root = try Self.benchFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let (report, summary) = try BenchReport.write(directory: root)
        let summaryLines = summary.split(separator: "\n")
        #expect(summaryLines.count == 8)
        #expect(summaryLines.contains { $0.hasPrefix("HS256 open loop 4,800/s (80%)  session") })
        let markdown = try String(contentsOf: report, encoding: .utf8)
        #expect(markdown.contains("| HS256 capacity | jwt HS256 | 9000 |"))
        for folder in ["a-jwt", "b-session", "c-none", "d-open"] {
            #expect(markdown.contains("[\(folder)](\(folder)/report.md)"))
            #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("\(folder)/report.md").path))
        }
        let svg = try Data(contentsOf: root.appendingPathComponent("capacity.svg"))
        let parser = XMLParser(data: svg)
        #expect(parser.parse(), "capacity.svg is not well-formed: \(String(describing: parser.parserError))")
        #expect(String(decoding: svg, as: UTF8.self).components(separatedBy: "<rect x=").count - 1 == 3)
        #expect(markdown.contains("![capacity.svg](capacity.svg)"))
    }

    @Test func aFolderWithNoResultsAnywhereIsAClearError() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bench-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        #expect {
            try BenchReport.write(directory: root)
        } throws: { error in
            "\(error)".contains("or its sub-folders")
        }
    }
}
