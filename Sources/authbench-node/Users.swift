import ArgumentParser
import AuthCore
import AuthNode
import Foundation
import HummingbirdBcrypt
import RedisClient

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create users in Redis.", subcommands: [Seed.self, Add.self])

    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create COUNT users named PREFIX1 ... PREFIXCOUNT, all with one password (for benchmarks).")

        @Option(help: "How many users.") var count: Int
        @Option(help: "Username prefix.") var prefix = "user"
        @Option(help: "The password of every seeded user.") var password: String
        @Option(help: "reader, writer or admin.") var role: Role = .writer
        @Option(help: "bcrypt cost (4 to 31).") var bcryptCost = NodeConfiguration.Defaults.bcryptCost
        @Option(help: "redis://[[user]:password@]host[:port][/db]") var redisUrl = NodeConfiguration.Defaults.redisURL
        @Option(help: "Prefix of every Redis key.") var keyPrefix = NodeConfiguration.Defaults.keyPrefix

        func validate() throws {
            guard (1...10_000_000).contains(count) else { throw ValidationError("--count must be from 1 to 10000000") }
            guard (4...31).contains(bcryptCost) else { throw ValidationError("--bcrypt-cost must be from 4 to 31") }
            if let problem = PasswordHasher.problem(with: password) { throw ValidationError("--password: \(problem)") }
        }

        func run() async throws {
            let redis = RedisClient(configuration: try redisConfiguration(redisUrl))
            let store = RedisUserStore(redis: redis, keys: RedisKeys(prefix: keyPrefix))
            // One hash for all: seeding thousands of users one bcrypt at a time would take minutes.
            let hash = Bcrypt.hash(password, cost: UInt8(bcryptCost))
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 1...count {
                        if index > 64 { try await group.next() }
                        group.addTask {
                            try await store.save(UserRecord(
                                username: "\(prefix)\(index)", name: "User \(index)", role: role, passwordHash: hash))
                        }
                    }
                    try await group.waitForAll()
                }
                await redis.shutdown()
            } catch {
                await redis.shutdown()
                throw StartupError("cannot write users to \(redis.configuration): \(error)")
            }
            print("seeded \(count) users \(prefix)1...\(prefix)\(count) with role \(role.rawValue)")
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or replace one user.")

        @Argument(help: "The username.") var name: String
        @Option(help: "reader, writer or admin.") var role: Role = .reader
        @Option(help: "A file whose first line is the password (never on the command line).") var passwordFile: String
        @Option(help: "Display name; the username when absent.") var displayName: String?
        @Option(help: "bcrypt cost (4 to 31).") var bcryptCost = NodeConfiguration.Defaults.bcryptCost
        @Option(help: "redis://[[user]:password@]host[:port][/db]") var redisUrl = NodeConfiguration.Defaults.redisURL
        @Option(help: "Prefix of every Redis key.") var keyPrefix = NodeConfiguration.Defaults.keyPrefix

        func validate() throws {
            if let problem = UserRecord.problem(withUsername: name) { throw ValidationError(problem) }
            guard (4...31).contains(bcryptCost) else { throw ValidationError("--bcrypt-cost must be from 4 to 31") }
        }

        func run() async throws {
            guard let contents = FileManager.default.contents(atPath: passwordFile),
                let password = String(decoding: contents, as: UTF8.self).split(separator: "\n").first.map(String.init)
            else { throw StartupError("--password-file: cannot read a password from \(passwordFile)") }
            if let problem = PasswordHasher.problem(with: password) { throw StartupError("--password-file: \(problem)") }
            let redis = RedisClient(configuration: try redisConfiguration(redisUrl))
            let store = RedisUserStore(redis: redis, keys: RedisKeys(prefix: keyPrefix))
            do {
                try await store.save(UserRecord(
                    username: name, name: displayName ?? name, role: role,
                    passwordHash: Bcrypt.hash(password, cost: UInt8(bcryptCost))))
                await redis.shutdown()
            } catch {
                await redis.shutdown()
                throw StartupError("cannot write the user to \(redis.configuration): \(error)")
            }
            print("user \(name) saved with role \(role.rawValue)")
        }
    }
}
