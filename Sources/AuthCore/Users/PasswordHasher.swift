import HummingbirdBcrypt
import NIOPosix

/// bcrypt, run on NIO's thread pool: a hash at cost 10 takes tens of milliseconds and
/// must not hold a cooperative thread.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    /// Verified against when the user does not exist, so both failures take the same time.
    private let decoyHash: String

    public init(cost: UInt8) {
        precondition((4...31).contains(cost), "bcrypt cost must be from 4 to 31")
        self.cost = cost
        self.decoyHash = Bcrypt.hash(OpaqueSecret.generate(), cost: cost)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Verifies against `hash`, or against a decoy of the same cost when there is no user.
    public func verify(_ password: String, against hash: String?) async throws -> Bool {
        let target = hash ?? decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: target) }
        return matches && hash != nil
    }
}
