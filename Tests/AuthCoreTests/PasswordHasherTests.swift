import AuthCore
import Testing

@Suite struct PasswordHasherTests {
    @Test func theCostIsReadFromABcryptHash() async throws {
        let hash = try await PasswordHasher(cost: 5).hash("a password")
        #expect(PasswordHasher.cost(of: hash) == 5)
        #expect(PasswordHasher.cost(of: "$2b$12$" + String(repeating: "a", count: 53)) == 12)
        for notAHash in ["", "plain", "$2b$", "$2b$x1$abc", "2b$10$abc", "$2b$100$abc"] {
            #expect(PasswordHasher.cost(of: notAHash) == nil, "\(notAHash)")
        }
    }

    @Test func aHashCheaperThanTheHashersCostIsReplacedOnARightPassword() async throws {
        let weak = try await PasswordHasher(cost: 4).hash("right")
        let hasher = PasswordHasher(cost: 6)
        #expect(try await hasher.check("wrong", against: weak) == .mismatch)
        guard case .match(let upgraded?) = try await hasher.check("right", against: weak) else {
            Issue.record("a cost-4 hash checked at cost 6 was not upgraded")
            return
        }
        #expect(PasswordHasher.cost(of: upgraded) == 6)
        #expect(try await hasher.check("right", against: upgraded) == .match(upgradedHash: nil))
        #expect(try await hasher.check("right", against: nil) == .mismatch)
    }

    @Test func aHashAtOrAboveTheCostIsKept() async throws {
        let strong = try await PasswordHasher(cost: 6).hash("right")
        #expect(try await PasswordHasher(cost: 5).check("right", against: strong) == .match(upgradedHash: nil))
        #expect(try await PasswordHasher(cost: 6).check("right", against: strong) == .match(upgradedHash: nil))
    }
}
