import HummingbirdBcrypt
import NIOPosix

/// bcrypt, run on NIO's thread pool: a hash at cost 10 takes tens of milliseconds and
/// must not hold a cooperative thread.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    /// Verified against when the user does not exist, so both failures take the same time.
    private let decoyHash: String

    /// bcrypt reads a password as a C string of at most 72 bytes: a NUL would end it early and
    /// the bytes past 72 would be ignored, so two different passwords could be one. Such
    /// passwords are refused rather than pre-hashed, which keeps every stored hash a plain
    /// bcrypt of the password (any bcrypt library verifies it, and a pre-hash would be an
    /// unsalted digest that leaked hashes of other sites could be tried against).
    public static let maximumPasswordBytes = 72

    /// Why `password` cannot be a password, or nil when it can.
    public static func problem(with password: String) -> String? {
        let bytes = password.utf8
        if bytes.isEmpty { return "the password must not be empty" }
        if bytes.contains(0) { return "the password must not contain a NUL character" }
        if bytes.count > maximumPasswordBytes { return "the password must be at most \(maximumPasswordBytes) bytes (bcrypt's limit)" }
        return nil
    }

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
