import RedisClient
import Synchronization

/// What presenting a refresh token did.
public enum RefreshRotation: Sendable, Hashable {
    /// The token was live: it is now spent and `newTokenHash` is live in the same family,
    /// for `expiresIn` seconds (its lifetime, or less when the family's end comes first).
    case rotated(uid: String, family: String, expiresIn: Int)
    /// The token was already spent: treated as theft, the whole family is now revoked.
    case reuseDetected(uid: String, family: String)
    /// Unknown, expired, or its family revoked.
    case invalid
}

/// Storage for refresh-token families. Rotation, reuse detection and family revocation
/// must be atomic: two nodes presenting the same token at once get exactly one `.rotated`.
/// A family ends `familyLifetime` seconds after its login however often it is refreshed: no
/// token of it lives past that.
public protocol RefreshTokenStore: Sendable {
    /// Starts a family with its first token; returns that token's lifetime in seconds.
    func startFamily(_ family: String, uid: String, tokenHash: String, lifetime: Int, familyLifetime: Int) async throws -> Int
    func rotate(tokenHash: String, newTokenHash: String, lifetime: Int) async throws -> RefreshRotation
    func revokeFamily(_ family: String) async throws
    /// Revokes every family of `uid`; returns their ids.
    func revokeAllFamilies(uid: String) async throws -> [String]
    /// Moves every live family of `uid` to a new id (made from its old id and `salt`), so the
    /// access tokens issued under the old ids can be revoked while each login goes on: its live
    /// refresh token rotates into the new family. Returns the old ids.
    func renewFamilies(uid: String, salt: String) async throws -> [String]
}

public final class InMemoryRefreshTokenStore: RefreshTokenStore {
    private struct Token {
        var uid: String
        var family: String
        var spent: Bool
        var expiry: Double
        var familyEnd: Double
    }

    private struct State {
        var tokens: [String: Token] = [:]
        var revokedFamilies: Set<String> = []
        /// Renewed family -> the id it lives on as.
        var renamed: [String: String] = [:]

        func current(_ family: String) -> String {
            var family = family
            while let next = renamed[family] { family = next }
            return family
        }
    }

    private let clock: any AuthClock
    private let state = Mutex(State())

    public init(clock: any AuthClock) {
        self.clock = clock
    }

    public func startFamily(_ family: String, uid: String, tokenHash: String, lifetime: Int, familyLifetime: Int) async throws -> Int {
        let now = clock.now()
        let expiresIn = min(lifetime, familyLifetime)
        state.withLock {
            $0.tokens[tokenHash] = Token(
                uid: uid, family: family, spent: false, expiry: now + Double(expiresIn), familyEnd: now + Double(familyLifetime))
        }
        return expiresIn
    }

    public func rotate(tokenHash: String, newTokenHash: String, lifetime: Int) async throws -> RefreshRotation {
        let now = clock.now()
        return state.withLock { state in
            guard var token = state.tokens[tokenHash], token.expiry > now else { return .invalid }
            let family = state.current(token.family)
            guard !state.revokedFamilies.contains(family) else { return .invalid }
            if token.spent {
                state.revokedFamilies.insert(family)
                return .reuseDetected(uid: token.uid, family: family)
            }
            let expiresIn = min(lifetime, Int((token.familyEnd - now).rounded(.down)))
            guard expiresIn > 0 else { return .invalid }
            token.spent = true
            state.tokens[tokenHash] = token
            state.tokens[newTokenHash] = Token(
                uid: token.uid, family: family, spent: false, expiry: now + Double(expiresIn), familyEnd: token.familyEnd)
            return .rotated(uid: token.uid, family: family, expiresIn: expiresIn)
        }
    }

    public func revokeFamily(_ family: String) async throws {
        state.withLock { state in _ = state.revokedFamilies.insert(state.current(family)) }
    }

    public func revokeAllFamilies(uid: String) async throws -> [String] {
        state.withLock { state in
            let families = Set(state.tokens.values.filter { $0.uid == uid }.map { state.current($0.family) })
            state.revokedFamilies.formUnion(families)
            return families.sorted()
        }
    }

    public func renewFamilies(uid: String, salt: String) async throws -> [String] {
        let now = clock.now()
        return state.withLock { state in
            let live = state.tokens.values.filter { $0.uid == uid && $0.expiry > now }.map { state.current($0.family) }
            let renewed = Set(live).subtracting(state.revokedFamilies).sorted()
            for family in renewed { state.renamed[family] = RefreshTokens.newFamilyID() }
            return renewed
        }
    }
}

/// `<prefix>rt:<sha256(token)>` (hash: uid, family, state live/spent, parent, fend: the
/// family's end in Unix seconds, carried from token to token),
/// `<prefix>rtfam:<family>` ("live:<uid>", "revoked:<uid>", or "moved:<new family>" once a role
/// change renewed it) and `<prefix>ufam:<uid>` (a user's families). Rotation runs as one Lua script; it derives the family key from the
/// token it reads, which is fine on a single Redis (not on Redis Cluster).
public struct RedisRefreshTokenStore: RefreshTokenStore {
    let redis: RedisClient
    let keys: RedisKeys

    public init(redis: RedisClient, keys: RedisKeys) {
        self.redis = redis
        self.keys = keys
    }

    static let startScript = RedisScript("""
        -- KEYS: token, family, user families; ARGV: uid, family, lifetime, family lifetime, key prefix
        -- (the user's families whose key has expired are dropped from their set)
        local familyEnd = tonumber(redis.call('TIME')[1]) + tonumber(ARGV[4])
        local ttl = math.min(tonumber(ARGV[3]), tonumber(ARGV[4]))
        redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'family', ARGV[2], 'state', 'live', 'parent', '', 'fend', familyEnd)
        redis.call('EXPIRE', KEYS[1], ttl)
        redis.call('SET', KEYS[2], 'live:' .. ARGV[1], 'EX', ttl)
        for _, family in ipairs(redis.call('SMEMBERS', KEYS[3])) do
            if redis.call('EXISTS', ARGV[5] .. 'rtfam:' .. family) == 0 then redis.call('SREM', KEYS[3], family) end
        end
        redis.call('SADD', KEYS[3], ARGV[2])
        return ttl
        """)

    /// Lua that sets `family`, `familyKey` and `familyState` to the family `family` lives on as
    /// (following renewals), given the key prefix in `prefix`.
    static let followRenewals = """
        local familyKey = prefix .. 'rtfam:' .. family
        local familyState = redis.call('GET', familyKey)
        for _ = 1, 32 do
            if not familyState or string.sub(familyState, 1, 6) ~= 'moved:' then break end
            family = string.sub(familyState, 7)
            familyKey = prefix .. 'rtfam:' .. family
            familyState = redis.call('GET', familyKey)
        end
        """

    static let rotateScript = RedisScript("""
        -- KEYS: presented token, new token; ARGV: lifetime, key prefix, presented token's hash
        local token = redis.call('HMGET', KEYS[1], 'uid', 'family', 'state', 'fend')
        local uid, family, state, familyEnd = token[1], token[2], token[3], tonumber(token[4])
        if not uid or not family then return {'invalid'} end
        local prefix = ARGV[2]
        \(followRenewals)
        if not familyState or string.sub(familyState, 1, 5) ~= 'live:' then return {'invalid'} end
        if state ~= 'live' then
            redis.call('SET', familyKey, 'revoked:' .. uid, 'KEEPTTL')
            return {'reused', uid, family}
        end
        local ttl = tonumber(ARGV[1])
        if familyEnd then
            ttl = math.min(ttl, familyEnd - tonumber(redis.call('TIME')[1]))
            if ttl <= 0 then return {'invalid'} end
        end
        redis.call('HSET', KEYS[1], 'state', 'spent')
        redis.call('HSET', KEYS[2], 'uid', uid, 'family', family, 'state', 'live', 'parent', ARGV[3], 'fend', token[4] or '')
        redis.call('EXPIRE', KEYS[2], ttl)
        redis.call('EXPIRE', familyKey, ttl)
        return {'rotated', uid, family, tostring(ttl)}
        """)

    static let revokeScript = RedisScript("""
        -- ARGV: family, key prefix
        local family, prefix = ARGV[1], ARGV[2]
        \(followRenewals)
        if not familyState then return 0 end
        local uid = string.match(familyState, ':(.*)$') or ''
        redis.call('SET', familyKey, 'revoked:' .. uid, 'KEEPTTL')
        return 1
        """)

    static let revokeAllScript = RedisScript("""
        -- KEYS: user families; ARGV: key prefix, uid
        local families = redis.call('SMEMBERS', KEYS[1])
        for _, family in ipairs(families) do
            local familyKey = ARGV[1] .. 'rtfam:' .. family
            if redis.call('EXISTS', familyKey) == 1 then
                redis.call('SET', familyKey, 'revoked:' .. ARGV[2], 'KEEPTTL')
            end
        end
        redis.call('UNLINK', KEYS[1])
        return families
        """)

    /// A renewed family's new id: the first 22 hex digits of SHA-1(old id + salt); the salt is
    /// fresh for each renewal, so ids never repeat.
    static let renewScript = RedisScript("""
        -- KEYS: user families; ARGV: key prefix, salt
        local renewed = {}
        for _, family in ipairs(redis.call('SMEMBERS', KEYS[1])) do
            local familyKey = ARGV[1] .. 'rtfam:' .. family
            local familyState = redis.call('GET', familyKey)
            if not familyState then
                redis.call('SREM', KEYS[1], family)
            elseif string.sub(familyState, 1, 5) == 'live:' then
                local newFamily = string.sub(redis.sha1hex(family .. ARGV[2]), 1, 22)
                local ttl = redis.call('PTTL', familyKey)
                if ttl > 0 then
                    redis.call('SET', ARGV[1] .. 'rtfam:' .. newFamily, familyState, 'PX', ttl)
                else
                    redis.call('SET', ARGV[1] .. 'rtfam:' .. newFamily, familyState)
                end
                redis.call('SET', familyKey, 'moved:' .. newFamily, 'KEEPTTL')
                redis.call('SREM', KEYS[1], family)
                redis.call('SADD', KEYS[1], newFamily)
                renewed[#renewed + 1] = family
            end
        end
        return renewed
        """)

    public func startFamily(_ family: String, uid: String, tokenHash: String, lifetime: Int, familyLifetime: Int) async throws -> Int {
        let reply = try await redis.evalScript(
            Self.startScript,
            keys: [keys.refreshToken(tokenHash), keys.refreshFamily(family), keys.userFamilies(uid)],
            arguments: [uid, family, lifetime, familyLifetime, keys.prefix]
        )
        guard let expiresIn = reply.integer else { throw RedisError.unexpectedReply("refresh family start answered \(reply)") }
        return Int(expiresIn)
    }

    public func rotate(tokenHash: String, newTokenHash: String, lifetime: Int) async throws -> RefreshRotation {
        let reply = try await redis.evalScript(
            Self.rotateScript,
            keys: [keys.refreshToken(tokenHash), keys.refreshToken(newTokenHash)],
            arguments: [lifetime, keys.prefix, tokenHash]
        )
        guard let items = reply.array?.compactMap(\.string), let outcome = items.first else {
            throw RedisError.unexpectedReply("refresh rotation answered \(reply)")
        }
        switch (outcome, items.count) {
        case ("rotated", 4):
            guard let expiresIn = Int(items[3]) else { throw RedisError.unexpectedReply("refresh rotation answered \(reply)") }
            return .rotated(uid: items[1], family: items[2], expiresIn: expiresIn)
        case ("reused", 3): return .reuseDetected(uid: items[1], family: items[2])
        default: return .invalid
        }
    }

    public func revokeFamily(_ family: String) async throws {
        _ = try await redis.evalScript(Self.revokeScript, keys: [], arguments: [family, keys.prefix])
    }

    public func revokeAllFamilies(uid: String) async throws -> [String] {
        let reply = try await redis.evalScript(Self.revokeAllScript, keys: [keys.userFamilies(uid)], arguments: [keys.prefix, uid])
        return reply.array?.compactMap(\.string) ?? []
    }

    public func renewFamilies(uid: String, salt: String) async throws -> [String] {
        let reply = try await redis.evalScript(Self.renewScript, keys: [keys.userFamilies(uid)], arguments: [keys.prefix, salt])
        return reply.array?.compactMap(\.string) ?? []
    }
}
