import AuthCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Runs in scripts/test's serial pass: a timing claim needs the machine to itself.
@Suite struct LoginTimingTests {
    /// An unknown user costs the same bcrypt as a wrong password (a decoy hash of the same
    /// cost), so neither the body nor the time tells which usernames exist.
    @Test(arguments: [8, 4]) func unknownUserAndWrongPasswordTakeTheSameTime(storedCost: Int) async throws {
        let node = try await NodeHarness.make(.inMemory, loginAttemptLimit: 10_000, bcryptCost: 8)
        // A user stored at a cheaper cost than the node's (users seeded for a benchmark) must not
        // answer a wrong password faster than an unknown user is answered.
        let hash = try await PasswordHasher(cost: UInt8(storedCost)).hash(NodeHarness.password)
        try await node.backend.users.save(UserRecord(username: "writer1", name: "Writer One", role: .writer, passwordHash: hash))
        try await node.test(.router) { client in
            var unknown: [Duration] = []
            var wrong: [Duration] = []
            let clock = ContinuousClock()
            for round in 0..<24 {
                let start = clock.now
                let response = try await client.login(round.isMultiple(of: 2) ? "nobody\(round)" : "writer1", mode: "jwt", password: "guess")
                let elapsed = clock.now - start
                #expect(response.errorCode == "invalid_credentials")
                if round.isMultiple(of: 2) { unknown.append(elapsed) } else { wrong.append(elapsed) }
            }
            let medians = [unknown, wrong].map { $0.sorted()[$0.count / 2] }
            let ratio = medians[0] / medians[1]
            #expect((0.75...1.33).contains(ratio), "stored at cost \(storedCost): median unknown user \(medians[0]), wrong password \(medians[1])")
            #expect(medians[0] > .milliseconds(3), "bcrypt at cost 8 ran for the unknown user too (\(medians[0]))")
        }
    }
}
