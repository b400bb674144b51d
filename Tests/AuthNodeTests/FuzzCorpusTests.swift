import AuthFuzzing
import Dispatch
import Foundation
import Testing

/// Every input in Fuzz/corpus (the seeds, and every finding `scripts/fuzz` ever made, once
/// added there) runs through the fuzz targets without a crash or a 5xx.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    @Test func everyCommittedInputRunsClean() async throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(names.count >= 15)
        #expect(names.contains("token-valid") && names.contains("router-me-valid-bearer"), "authbench-fuzz --seed Fuzz/corpus writes the valid-token seeds")
        let inputs = try names.map { (name: $0, bytes: Array(try Data(contentsOf: Self.corpus.appendingPathComponent($0)))) }
        // The targets wait on async work from a synchronous caller, as libFuzzer calls them: off the cooperative pool.
        let findings = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: inputs.compactMap { input in FuzzTargets.shared.run(input.bytes).map { "\(input.name): \($0)" } })
            }
        }
        #expect(findings.isEmpty, "\(findings)")
    }

    /// The harness reaches past authentication and into the handlers, so the fuzzer can too.
    @Test func seedsReachTheHandlers() async throws {
        let expected = ["router-me-valid-bearer": 200, "router-login-session": 200, "router-login-jwt": 200, "router-session-cookie": 401, "router-deep-json": 400]
        let statuses = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: expected.keys.sorted().map { name in
                    (name, (try? Data(contentsOf: Self.corpus.appendingPathComponent(name))).flatMap { FuzzTargets.shared.routerResponse(Array($0))?.1 })
                })
            }
        }
        for (name, status) in statuses {
            #expect(status == expected[name], "\(name)")
        }
    }
}
