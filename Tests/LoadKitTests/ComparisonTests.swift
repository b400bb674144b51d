import Foundation
import Testing

@testable import LoadEngine
@testable import LoadReports
@testable import LoadScenarios
@testable import TCPDelayProxy

@Suite struct ComparisonTests {
    static func file(rps: Double, p99: UInt64, requests: Int, errors: Int, uncorrectedMax: UInt64 = 1000) throws -> ResultFile {
        let json = """
            {"tool":"authbench-load","version":"0.1.0","started_at":"2026-11-30T00:00:00Z",
             "config":{"targets":["http://127.0.0.1:1"],"modes":["jwt"],"path":"/","connections":1,"users":1,"duration_s":1,"warmup_s":0},
             "runs":[{"mode":"jwt","requests":\(requests),"errors":\(errors),"duration_s":1,"throughput_rps":\(rps),
               "latency_us":{"p50":100,"p90":200,"p99":\(p99),"p999":900,"max":1000,"mean":150},
               "latency_uncorrected_us":{"p50":100,"p90":200,"p99":\(p99),"p999":900,"max":\(uncorrectedMax),"mean":150},
               "status_counts":{"200":\(requests)},"per_second":[],"errors_by_cause":{},"late_sends":0,"login_failures":{}}]}
            """
        return try JSONDecoder().decode(ResultFile.self, from: Data(json.utf8))
    }

    @Test func ratiosOfEveryMetric() throws {
        let comparison = Comparison(
            baseline: try Self.file(rps: 1000, p99: 400, requests: 1000, errors: 0),
            candidate: try Self.file(rps: 1500, p99: 800, requests: 1500, errors: 3))
        let byMetric = Dictionary(uniqueKeysWithValues: comparison.rows.map { ($0.metric, $0) })
        #expect(byMetric["requests/s"]?.ratio == 1.5)
        #expect(byMetric["p99 us"]?.ratio == 2)
        #expect(byMetric["errors %"]?.candidate == 0.2)
        #expect(comparison.render().contains("1.50 x"))
    }

    @Test func thresholdsParseUnitsAndJudgeEveryRun() throws {
        let file = try Self.file(rps: 1500, p99: 800, requests: 1000, errors: 3)
        #expect(try Threshold("p99<5ms").violations(in: file).isEmpty)
        #expect(try Threshold("p99 < 500us").violations(in: file).count == 1)
        #expect(try Threshold("errors<0.1%").violations(in: file) == ["jwt: errors<0.1% does not hold (errors is 0.30%)"])
        #expect(try Threshold("errors<=0.3%").violations(in: file).isEmpty)
        #expect(try Threshold("rps>=2000").violations(in: file).count == 1)
        #expect(try Threshold("max<1s").limit == 1_000_000)
        // From the send, not the intended start: a request queued behind a slow one is not the server's slowness.
        let queued = try Self.file(rps: 1500, p99: 800, requests: 1000, errors: 0, uncorrectedMax: 700)
        #expect(try Threshold("max < 900us").violations(in: queued) == ["jwt: max < 900us does not hold (max is 1000 us)"])
        #expect(try Threshold("uncorrected_max < 900us").violations(in: queued).isEmpty)
        #expect(try Threshold("uncorrected_max < 500us").violations(in: queued)
            == ["jwt: uncorrected_max < 500us does not hold (uncorrected_max is 700 us)"])
        for bad in ["p99", "p98<1ms", "p99<1", "errors<1", "rps>fast", "p99=1ms"] {
            #expect(throws: Threshold.ParseError.self, "\(bad)") { try Threshold(bad) }
        }
    }
}
