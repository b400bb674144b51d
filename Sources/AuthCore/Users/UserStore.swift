import RedisClient
import Synchronization

public protocol UserStore: Sendable {
    func user(named username: String) async throws -> UserRecord?
    func save(_ user: UserRecord) async throws
}

public final class InMemoryUserStore: UserStore {
    private let users = Mutex<[String: UserRecord]>([:])

    public init() {}

    public func user(named username: String) async throws -> UserRecord? {
        users.withLock { $0[username] }
    }

    public func save(_ user: UserRecord) async throws {
        users.withLock { $0[user.username] = user }
    }
}

/// `<prefix>user:<username>`: a hash of uid, name, role and the bcrypt hash.
public struct RedisUserStore: UserStore {
    let redis: RedisClient
    let keys: RedisKeys

    public init(redis: RedisClient, keys: RedisKeys) {
        self.redis = redis
        self.keys = keys
    }

    public func user(named username: String) async throws -> UserRecord? {
        let fields = try await redis.hgetall(keys.user(username))
        guard let name = fields["name"], let roleText = fields["role"], let hash = fields["hash"],
            let role = Role(rawValue: String(decoding: roleText, as: UTF8.self))
        else { return nil }
        return UserRecord(
            username: username,
            name: String(decoding: name, as: UTF8.self),
            role: role,
            passwordHash: String(decoding: hash, as: UTF8.self)
        )
    }

    public func save(_ user: UserRecord) async throws {
        try await redis.hset(keys.user(user.username), fields: [
            ("uid", user.claims.sub), ("name", user.claims.name), ("role", user.claims.role.rawValue),
            ("hash", user.passwordHash),
        ])
    }
}
