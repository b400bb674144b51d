import Foundation
import RedisClient
import Synchronization

/// What Redis holds for a session, under the SHA-256 of its id, as one flat JSON object:
/// `{"sub","name","role","created","absolute_expiry"}`, written with `JSONEncoder` and read
/// back by `decode(_:)` on the flat-JSON fast path.
public struct StoredSession: Encodable, Sendable, Hashable {
    public var user: UserClaims
    public var created: Int64
    public var absoluteExpiry: Int64

    public init(user: UserClaims, created: Int64, absoluteExpiry: Int64) {
        self.user = user
        self.created = created
        self.absoluteExpiry = absoluteExpiry
    }

    enum CodingKeys: String, CodingKey {
        case sub, name, role, created
        case absoluteExpiry = "absolute_expiry"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(user.sub, forKey: .sub)
        try container.encode(user.name, forKey: .name)
        try container.encode(user.role, forKey: .role)
        try container.encode(created, forKey: .created)
        try container.encode(absoluteExpiry, forKey: .absoluteExpiry)
    }

    /// The session in `json`, read on the flat-JSON fast path; nil when it is not one.
    static func decode(_ json: [UInt8]) -> StoredSession? {
        guard let members = try? FlatJSON.parse(json), let sub = members["sub"]?.string, let name = members["name"]?.string,
            let role = members["role"]?.string.flatMap(Role.init(rawValue:)), let created = members["created"]?.integer,
            let absoluteExpiry = members["absolute_expiry"]?.integer
        else { return nil }
        return StoredSession(user: UserClaims(sub: sub, name: name, role: role), created: created, absoluteExpiry: absoluteExpiry)
    }
}

/// Storage for sessions, keyed by the hash of the id. `Sessions` holds the rules.
public protocol SessionStore: Sendable {
    func insert(_ session: StoredSession, idHash: String, idleTimeout: Int) async throws
    /// The session, its idle expiry pushed out again, in one round trip.
    func fetchSliding(idHash: String, idleTimeout: Int) async throws -> StoredSession?
    func remove(idHash: String, uid: String) async throws
    func removeAll(uid: String) async throws
    /// Gives every live session of `uid` the role `role`, keeping its expiry; returns how many.
    func changeRole(uid: String, to role: Role) async throws -> Int
}

public final class InMemorySessionStore: SessionStore {
    private struct Entry {
        var session: StoredSession
        var expiry: Double
    }

    private let clock: any AuthClock
    private let entries = Mutex<[String: Entry]>([:])

    public init(clock: any AuthClock) {
        self.clock = clock
    }

    public func insert(_ session: StoredSession, idHash: String, idleTimeout: Int) async throws {
        let expiry = clock.now() + Double(idleTimeout)
        entries.withLock { $0[idHash] = Entry(session: session, expiry: expiry) }
    }

    public func fetchSliding(idHash: String, idleTimeout: Int) async throws -> StoredSession? {
        let now = clock.now()
        return entries.withLock { entries -> StoredSession? in
            guard var entry = entries[idHash] else { return nil }
            guard entry.expiry > now else {
                entries[idHash] = nil
                return nil
            }
            entry.expiry = now + Double(idleTimeout)
            entries[idHash] = entry
            return entry.session
        }
    }

    public func remove(idHash: String, uid: String) async throws {
        _ = entries.withLock { $0.removeValue(forKey: idHash) }
    }

    public func removeAll(uid: String) async throws {
        entries.withLock { entries in entries = entries.filter { $0.value.session.user.sub != uid } }
    }

    public func changeRole(uid: String, to role: Role) async throws -> Int {
        entries.withLock { entries in
            var changed = 0
            for (idHash, entry) in entries where entry.session.user.sub == uid {
                entries[idHash]?.session.user.role = role
                changed += 1
            }
            return changed
        }
    }
}

/// `<prefix>sess:<sha256(id)>` holds the session as compact JSON with the idle timeout as
/// its TTL, slid by GETEX; `<prefix>usess:<uid>` lists a user's session hashes for logout-all.
/// Creating a session and ending all of a user's are each one Lua script, so a login racing a
/// logout-all either ends before it (and is ended) or starts after it; both read keys they
/// derive from the set, which is fine on a single Redis (not on Redis Cluster).
public struct RedisSessionStore: SessionStore {
    let redis: RedisClient
    let keys: RedisKeys

    public init(redis: RedisClient, keys: RedisKeys) {
        self.redis = redis
        self.keys = keys
    }

    /// Writes the session and lists it for its user, dropping from the list the sessions that
    /// have expired since (the list would otherwise grow with every login).
    static let insertScript = RedisScript("""
        -- KEYS: session, user sessions; ARGV: session JSON, idle timeout, session hash, key prefix
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
        for _, hash in ipairs(redis.call('SMEMBERS', KEYS[2])) do
            if redis.call('EXISTS', ARGV[4] .. 'sess:' .. hash) == 0 then redis.call('SREM', KEYS[2], hash) end
        end
        redis.call('SADD', KEYS[2], ARGV[3])
        return 1
        """)

    /// Unlinks every session of the user and the list, in batches (a Lua call's arguments are bounded).
    static let removeAllScript = RedisScript("""
        -- KEYS: user sessions; ARGV: key prefix
        local hashes = redis.call('SMEMBERS', KEYS[1])
        for first = 1, #hashes, 500 do
            local batch = {}
            for index = first, math.min(first + 499, #hashes) do batch[#batch + 1] = ARGV[1] .. 'sess:' .. hashes[index] end
            redis.call('UNLINK', unpack(batch))
        end
        redis.call('UNLINK', KEYS[1])
        return #hashes
        """)

    /// Rewrites the role member of each of the user's sessions in place, keeping its TTL, and
    /// drops ended ones from the list. The JSON is the encoder's compact form, in which
    /// `"role":"` can only be that member: inside a string every quote is escaped.
    static let changeRoleScript = RedisScript("""
        -- KEYS: user sessions; ARGV: role, key prefix
        local changed = 0
        for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
            local key = ARGV[2] .. 'sess:' .. hash
            local json = redis.call('GET', key)
            if json then
                local rewritten, count = string.gsub(json, '"role":"[a-z]*"', '"role":"' .. ARGV[1] .. '"', 1)
                if count == 1 then
                    redis.call('SET', key, rewritten, 'KEEPTTL')
                    changed = changed + 1
                end
            else
                redis.call('SREM', KEYS[1], hash)
            end
        end
        return changed
        """)

    public func insert(_ session: StoredSession, idHash: String, idleTimeout: Int) async throws {
        let json = try JSONEncoder().encode(session)
        _ = try await redis.evalScript(
            Self.insertScript, keys: [keys.session(idHash), keys.userSessions(session.user.sub)],
            arguments: [[UInt8](json), idleTimeout, idHash, keys.prefix])
    }

    public func fetchSliding(idHash: String, idleTimeout: Int) async throws -> StoredSession? {
        guard let json = try await redis.getex(keys.session(idHash), expiration: .seconds(idleTimeout)) else {
            return nil
        }
        return StoredSession.decode(json)
    }

    public func remove(idHash: String, uid: String) async throws {
        try await redis.del(keys.session(idHash))
        try await redis.srem(keys.userSessions(uid), members: [idHash])
    }

    public func removeAll(uid: String) async throws {
        _ = try await redis.evalScript(Self.removeAllScript, keys: [keys.userSessions(uid)], arguments: [keys.prefix])
    }

    public func changeRole(uid: String, to role: Role) async throws -> Int {
        let reply = try await redis.evalScript(Self.changeRoleScript, keys: [keys.userSessions(uid)], arguments: [role.rawValue, keys.prefix])
        return Int(reply.integer ?? 0)
    }
}
