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

    public enum Verification: Sendable, Equatable {
        case mismatch
        /// The password is right; `upgradedHash`, when there is one, is the password hashed at
        /// this hasher's cost, to store in place of a weaker hash.
        case match(upgradedHash: String?)
    }

    /// The cost a bcrypt hash was made with (`$2b$10$...`), or nil when it is not one.
    public static func cost(of hash: String) -> Int? {
        let parts = hash.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].isEmpty, parts[2].count == 2 else { return nil }
        return Int(parts[2])
    }

    /// Checks `password` against `hash`, or against the decoy (made at this cost) when there is
    /// no user. Whether the user exists must not show in the time taken, whatever cost the
    /// stored hash was made at: a hash cheaper than this cost (users seeded for a benchmark at
    /// cost 4 on a node at 10) is also padded with the decoy, and when the password is right it
    /// is rehashed at this cost, so the padding is paid once per user.
    public func check(_ password: String, against hash: String?) async throws -> Verification {
        let decoy = decoyHash
        guard let hash else {
            _ = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: decoy) }
            return .mismatch
        }
        let weaker = Self.cost(of: hash).map { $0 < Int(cost) } ?? false
        let matches = try await NIOThreadPool.singleton.runIfActive {
            let matches = Bcrypt.verify(password, hash: hash)
            if weaker { _ = Bcrypt.verify(password, hash: decoy) }
            return matches
        }
        guard matches else { return .mismatch }
        return .match(upgradedHash: weaker ? try await self.hash(password) : nil)
    }
}
