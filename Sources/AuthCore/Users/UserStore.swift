import RedisClient
import Synchronization

public protocol UserStore: Sendable {
    func user(named username: String) async throws -> UserRecord?
    func save(_ user: UserRecord) async throws
    /// Replaces the user's password hash with `new` only while it is still `old` (a password
    /// changed in between is left alone).
    func replacePasswordHash(of username: String, _ old: String, with new: String) async throws
    /// Gives the user `role`; false when there is no such user.
    func changeRole(of username: String, to role: Role) async throws -> Bool
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

    public func replacePasswordHash(of username: String, _ old: String, with new: String) async throws {
        users.withLock { users in
            if users[username]?.passwordHash == old { users[username]?.passwordHash = new }
        }
    }

    public func changeRole(of username: String, to role: Role) async throws -> Bool {
        users.withLock { users in
            guard users[username] != nil else { return false }
            users[username]?.claims.role = role
            return true
        }
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

    static let replaceHashScript = RedisScript("""
        -- KEYS: user; ARGV: old hash, new hash
        if redis.call('HGET', KEYS[1], 'hash') == ARGV[1] then return redis.call('HSET', KEYS[1], 'hash', ARGV[2]) end
        return 0
        """)

    public func replacePasswordHash(of username: String, _ old: String, with new: String) async throws {
        _ = try await redis.evalScript(Self.replaceHashScript, keys: [keys.user(username)], arguments: [old, new])
    }

    static let changeRoleScript = RedisScript("""
        -- KEYS: user; ARGV: role
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], 'role', ARGV[1])
        return 1
        """)

    public func changeRole(of username: String, to role: Role) async throws -> Bool {
        try await redis.evalScript(Self.changeRoleScript, keys: [keys.user(username)], arguments: [role.rawValue]).integer == 1
    }
}
